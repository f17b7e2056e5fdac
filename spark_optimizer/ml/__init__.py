"""Learning from past runs: features and job signatures, similarity, runtime and resource models, MLflow tracking."""
