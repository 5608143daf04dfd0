"""Results (SPEC section 6): the OrderResult builder, report templates and renderers, stored
result sets. See docs/integrations/results.md."""
