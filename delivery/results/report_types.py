"""How each evaluation type presents itself on its default report: title, what the exam looked
for, and an accent colour so the report types are told apart at a glance."""
from dataclasses import dataclass


@dataclass(frozen=True)
class ReportType:
    title: str
    about: str
    accent: str


_AI = " The images were graded by an autonomous AI system."
REPORT_TYPES: dict[str, ReportType] = {
    "DR": ReportType("Diabetic Retinopathy Screening",
                     "Retinal images were reviewed for diabetic retinopathy and diabetic macular edema.", "#1d4f91"),
    "Glaucoma": ReportType("Glaucoma Screening",
                           "Retinal images were reviewed for signs of glaucomatous optic nerve damage.", "#0f766e"),
    "HIV": ReportType("HIV Retinopathy Screening",
                      "Retinal images were reviewed for HIV-related retinopathy and opportunistic infection.",
                      "#7c2d12"),
    "DRME": ReportType("Diabetic Retinopathy & Macular Edema Screening",
                       "Retinal images were reviewed for diabetic retinopathy and macular edema, with extended care "
                       "plans.", "#1e40af"),
    "DR_REFNOREF": ReportType("Diabetic Retinopathy Screening (Refer / No Refer)",
                              "Retinal images were analysed for referable diabetic retinopathy." + _AI, "#155e75"),
    "AMD": ReportType("Age-related Macular Degeneration Screening",
                      "Retinal images were reviewed for dry and wet age-related macular degeneration.", "#6d28d9"),
    "DR_AMD": ReportType("Diabetic Retinopathy & AMD Screening",
                         "Retinal images were reviewed for diabetic retinopathy, macular edema and age-related "
                         "macular degeneration.", "#4338ca"),
    "SP": ReportType("Retinal Pathology Screening",
                     "Retinal images were reviewed for suspected retinal pathology.", "#9d174d"),
    "DR_AREDS_GLAUC": ReportType("Diabetic Retinopathy, AMD & Glaucoma Screening",
                                 "Retinal images were analysed for diabetic retinopathy, macular edema, age-related "
                                 "macular degeneration (AREDS) and glaucoma." + _AI, "#0e7490"),
    "AI_Eyenuk_O1": ReportType("Diabetic Retinopathy, AMD & Glaucoma Screening (Eyenuk)",
                               "Retinal images were analysed for diabetic retinopathy, macular edema, age-related "
                               "macular degeneration and glaucoma by Eyenuk's AI system." + _AI, "#047857"),
}


def report_type(code: str) -> ReportType:
    return REPORT_TYPES.get(code, REPORT_TYPES["DR"])
