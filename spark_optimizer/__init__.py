"""Spark Optimizer: learns from past Spark runs and recommends the resources for the next."""

__version__ = "0.1.0"
