"""Analysis of ingested runs: efficiency metrics, bottlenecks, what-if simulation."""
