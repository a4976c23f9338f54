"""Revenue per region with Spark SQL on a small CSV: the catalogue's DataFrame job.

    sparkswarm spark submit sales_sql

``sales.csv`` (bundled, made up for the example) travels with the job.
Prints ``ROW <region> <orders> <quantity> <revenue>`` per region, by
region, then ``TOTAL <revenue>``.
"""

# sparkswarm-files: sales.csv

from __future__ import annotations

import csv
import sys

from pyspark.sql import SparkSession
from pyspark.sql.types import DoubleType, IntegerType, StringType, StructField, StructType

SCHEMA = StructType(
    [
        StructField("order_id", IntegerType()),
        StructField("region", StringType()),
        StructField("product", StringType()),
        StructField("quantity", IntegerType()),
        StructField("unit_price", DoubleType()),
    ]
)

QUERY = """
SELECT region,
       COUNT(*) AS orders,
       SUM(quantity) AS quantity,
       ROUND(SUM(quantity * unit_price), 2) AS revenue
FROM sales
GROUP BY region
ORDER BY region
"""


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "sales.csv"
    spark = SparkSession.builder.appName("sales_sql").getOrCreate()
    # The CSV is next to the script in the driver's folder; the driver reads
    # it and the executors run the query on the DataFrame made from it.
    with open(path, newline="", encoding="utf-8") as handle:
        rows = [
            (
                int(r["order_id"]),
                r["region"],
                r["product"],
                int(r["quantity"]),
                float(r["unit_price"]),
            )
            for r in csv.DictReader(handle)
        ]
    spark.createDataFrame(rows, SCHEMA).createOrReplaceTempView("sales")
    total = 0.0
    for row in spark.sql(QUERY).collect():
        print(f"ROW {row.region} {row.orders} {row.quantity} {row.revenue:.2f}")
        total += row.revenue
    print(f"TOTAL {total:.2f}")
    spark.stop()


if __name__ == "__main__":
    main()
