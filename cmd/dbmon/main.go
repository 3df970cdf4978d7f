// Command dbmon turns a dbmon spec into a Databricks Asset Bundle that
// monitors every job in a Databricks account. See README.md.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
