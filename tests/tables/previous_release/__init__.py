"""The table specs of release 5f06836 (copied from git show 5f06836:spark_optimizer/tables/...), before
columns became Delta map/array/struct types and instants timestamps: what a warehouse of that release holds."""
