from django.contrib import admin

from .models import Image, InboundMessage, Order, OrderEvent, OrderExam


class OrderExamInline(admin.TabularInline):
    model = OrderExam
    fields = ("evaluation_type", "is_open")
    readonly_fields = fields
    extra = 0
    can_delete = False


class ImageInline(admin.TabularInline):
    model = Image
    fields = ("laterality", "image_context", "local_id", "file", "received_at")
    readonly_fields = ("received_at",)
    extra = 0


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    fields = ("timestamp", "event_type", "success", "error_message")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("local_id", "patient", "site", "status", "state", "source", "created_at")
    list_filter = ("status", "source", "state", "organization")
    search_fields = ("local_id", "patient__local_id", "patient__last_name")
    list_select_related = ("patient", "site")
    raw_id_fields = ("patient", "ordering_provider", "referring_provider", "camera_operator", "primary_care_provider")
    readonly_fields = ("created_at", "updated_at")
    inlines = [OrderExamInline, ImageInline, OrderEventInline]


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ("id", "channel", "sender", "message_type", "status", "received_at", "organization")
    list_filter = ("channel", "status", "organization")
    search_fields = ("control_id", "sender")
    readonly_fields = [f.name for f in InboundMessage._meta.fields]


@admin.register(OrderEvent)
class OrderEventAdmin(admin.ModelAdmin):
    list_display = ("timestamp", "event_type", "success", "order", "organization")
    list_filter = ("event_type", "success")
    readonly_fields = [f.name for f in OrderEvent._meta.fields]
    raw_id_fields = ("order",)
