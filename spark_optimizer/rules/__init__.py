"""Rule-based recommender: anti-pattern rules that turn evidence into concrete Spark properties."""
