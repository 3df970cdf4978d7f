// Package twin is dbmon's embedded stand-in for a Databricks workspace: a
// DuckDB database with tables shaped exactly like the system tables, on which
// every SQL statement dbmon emits runs after a small, explicit translation
// from Databricks SQL (see translate.go). Tests and `dbmon preview` use it to
// prove the generated logic, not just its text.
package twin
