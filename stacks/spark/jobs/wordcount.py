"""Count the words of a text: the catalogue's word count.

    sparkswarm spark submit wordcount              # the bundled pride.txt
    sparkswarm spark submit wordcount my.txt --files my.txt

The text is the opening of Jane Austen's *Pride and Prejudice* (1813,
public domain). Words are runs of letters and apostrophes, lower-cased.
Prints one ``COUNT <word> <n>`` line per word, most frequent first, then
``WORDS <total> DISTINCT <distinct>``.
"""

# sparkswarm-files: pride.txt

from __future__ import annotations

import re
import sys
from operator import add

from pyspark.sql import SparkSession


def words(line: str) -> list[str]:
    return re.findall(r"[a-z']+", line.lower())


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "pride.txt"
    spark = SparkSession.builder.appName("wordcount").getOrCreate()
    # The file sits next to the script in the driver's folder (a swarm config);
    # the driver reads it and hands the lines to the executors.
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    counts = (
        spark.sparkContext.parallelize(lines, 2)
        .flatMap(words)
        .map(lambda word: (word, 1))
        .reduceByKey(add)
        .collect()
    )
    for word, count in sorted(counts, key=lambda pair: (-pair[1], pair[0])):
        print(f"COUNT {word} {count}")
    print(f"WORDS {sum(c for _, c in counts)} DISTINCT {len(counts)}")
    spark.stop()


if __name__ == "__main__":
    main()
