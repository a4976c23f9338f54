"""Estimate pi with a Monte Carlo sample: the sample job of the spark stack.

    sparkswarm spark submit pi 4

The optional argument is the number of partitions (default 2), each of
100,000 samples. Prints ``Pi is roughly 3.14...``.
"""

from __future__ import annotations

import random
import sys
from operator import add

from pyspark.sql import SparkSession

SAMPLES_PER_PARTITION = 100_000


def inside(_: int) -> int:
    x, y = random.random() * 2 - 1, random.random() * 2 - 1
    return 1 if x * x + y * y <= 1 else 0


def main() -> None:
    partitions = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    spark = SparkSession.builder.appName("pi").getOrCreate()
    total = SAMPLES_PER_PARTITION * partitions
    count = spark.sparkContext.parallelize(range(total), partitions).map(inside).reduce(add)
    print(f"Pi is roughly {4.0 * count / total:.5f}")
    spark.stop()


if __name__ == "__main__":
    main()
