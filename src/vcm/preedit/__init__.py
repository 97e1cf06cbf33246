"""Neural pre-editing before a standard encoder, and the differentiable codec proxy it trains through."""
