from spark_optimizer.cli import main

main()
