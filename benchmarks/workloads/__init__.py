"""The corpus's input datasets (`datasets`), Spark workloads (`queries`) and the driver process
that runs one Spark application per run (`driver`); `benchmarks/corpus.py` orchestrates them."""
