// Command duckdbgen writes testdata/duckdb.parquet with DuckDB's own Parquet
// writer, so that the catalog's schema inference is tested on a file that
// arrow-go did not write. It is a module of its own (DuckDB needs cgo and a
// large static library, which the main module does not take on); run it
// from this directory with `go run . ../duckdb.parquet` and commit the
// output.
package main

import (
	"database/sql"
	"fmt"
	"os"
	"strings"

	_ "github.com/duckdb/duckdb-go/v2"
)

// query covers the types the catalog maps: integers of each width, signed
// and unsigned, decimals, strings, dates, timestamps, booleans, floats,
// blobs, and nested lists, structs and maps. Column names are mixed case on
// purpose: Hive lower-cases them.
const query = `SELECT
	CAST(i AS TINYINT)                              AS tiny_col,
	CAST(i AS SMALLINT)                             AS small_col,
	CAST(i AS INTEGER)                              AS Int_Col,
	CAST(i AS BIGINT)                               AS big_col,
	CAST(i AS UTINYINT)                             AS utiny_col,
	CAST(i AS UINTEGER)                             AS uint_col,
	CAST(i AS UBIGINT)                              AS ubig_col,
	CAST(i * 1.25 AS DECIMAL(10,2))                 AS price,
	CAST(i AS DECIMAL(38,10))                       AS wide_dec,
	'name ' || i                                    AS Name,
	DATE '2024-01-01' + CAST(i AS INTEGER)          AS day,
	TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (i) HOUR AS ts,
	i % 2 = 0                                       AS flag,
	CAST(i AS DOUBLE) / 3                           AS ratio,
	CAST(i AS FLOAT) / 3                            AS ratio32,
	CAST('blob' || i AS BLOB)                       AS raw,
	[i, i + 1]                                      AS ints,
	['a' || i, 'b']                                 AS tags,
	{'Street': 'main ' || i, 'zip': i}              AS address,
	MAP {'k' || i: i * 10}                          AS attrs,
	[{'x': i, 'y': [1.5, 2.5]}]                     AS points
FROM range(5) t(i)`

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: duckdbgen OUT.parquet")
		os.Exit(2)
	}
	out := os.Args[1]
	if strings.ContainsRune(out, '\'') {
		fmt.Fprintln(os.Stderr, "duckdbgen: the output path must not contain a quote")
		os.Exit(2)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "duckdbgen:", err)
		os.Exit(1)
	}
	defer db.Close()
	if _, err := db.Exec("COPY (" + query + ") TO '" + out + "' (FORMAT parquet)"); err != nil {
		fmt.Fprintln(os.Stderr, "duckdbgen:", err)
		os.Exit(1)
	}
}
