package grants

import (
	"strings"
	"testing"
)

// A database or table name holding '.' would make d.`x.y` and `d.x`.y
// (and DATABASE `d.x` and TABLE d.x) one name "d.x.y" ("d.x") in the
// grant objects the policy indexes, so that a grant on one table gave
// another's files and catalog privileges. The parser refuses such names.
func TestCatalogNamesHoldNoDot(t *testing.T) {
	for _, src := range []string{
		"CREATE DATABASE `d.x`",
		"DROP DATABASE `d.x`",
		"CREATE EXTERNAL TABLE d.`x.y` (id INT) STORED AS PARQUET LOCATION 's3://lake/t'",
		"CREATE EXTERNAL TABLE `d.x`.y (id INT) STORED AS PARQUET LOCATION 's3://lake/t'",
		"ALTER TABLE d.t RENAME TO d.`x.y`",
		"GRANT SELECT ON TABLE d.`x.y` TO ROLE r",
		"GRANT ALL ON DATABASE `d.x` TO ROLE r",
		"REVOKE ALL ON DATABASE `d.x` FROM ROLE r",
		"SHOW TABLES IN `d.x`",
		"DESCRIBE d.`x.y`",
	} {
		if _, err := Parse(src); err == nil || !strings.Contains(err.Error(), "holds a '.'") {
			t.Errorf("%s: err = %v, want a refusal of the '.'", src, err)
		}
	}
	// Columns and struct fields may hold dots.
	if _, err := Parse("GRANT SELECT(`a.b`) ON TABLE d.t TO ROLE r"); err != nil {
		t.Errorf("a column named a.b: %v", err)
	}
}
