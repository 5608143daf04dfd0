"""Result delivery (SPEC section 7): endpoints, delivery rows and attempts come with the delivery issue."""
