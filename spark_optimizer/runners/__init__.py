"""One runner per workflow, between the entry points (CLI, jobs, notebooks, SDK, REST API) and the
library: each is built from the settings by `spark_optimizer.context.AppContext`, turns settings
and arguments into one library call, and returns a `RunResult` (the library's summary, the lines a
person reads, the JSON a program reads, and the exit code).

    ctx = AppContext(load_settings(warehouse="/tmp/wh"))
    ctx.ingest.run("/data/spark-events")      # IngestRunner
    ctx.analyze.run()                         # AnalyzeRunner
    ctx.train.run(folds=3)                    # TrainRunner
    ctx.build_recommendations.run()           # BuildRecommendationsRunner
    ctx.main_job.run("/data/spark-events")    # MainJobRunner: ingest -> analyze -> train -> build
    ctx.recommend.run(job_type="etl", input_size="10GB")
    ctx.collect.history_server("http://history:18080")

Nothing is imported here: `recommend` and `feedback` must start without Spark, pandas or Arrow.
"""
