package twin

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dbmon/dbmon/generator/model"
)

// LoadDir fills the system tables (and the collector's table) from files
// exported from a workspace: system.<schema>.<table>.parquet, .json (one
// object per line) or .csv with a header, and bronze_api_job_runs.<ext>.
// Columns the file lacks (newer than the export) become NULL; columns dbmon
// does not know are ignored and reported. It returns one note per file.
func (e *Engine) LoadDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	targets := map[string][]Column{}
	for _, t := range SystemTables {
		targets[t.FullName()] = t.Columns
	}
	targets[model.CollectorTable.Name] = model.CollectorTable.Columns

	var notes []string
	seen := map[string]string{}
	var names []string
	for _, en := range entries {
		names = append(names, en.Name())
	}
	sort.Strings(names)
	for _, name := range names {
		ext := filepath.Ext(name)
		base := strings.TrimSuffix(name, ext)
		if ext != ".parquet" && ext != ".json" && ext != ".csv" {
			continue
		}
		cols, ok := targets[base]
		if !ok {
			if strings.HasPrefix(base, "system.") {
				notes = append(notes, fmt.Sprintf("%s: skipped: dbmon does not read %s", name, base))
			}
			continue
		}
		if prev, dup := seen[base]; dup {
			return notes, fmt.Errorf("%s and %s both hold %s; keep one", prev, name, base)
		}
		seen[base] = name
		note, err := e.loadFile(filepath.Join(dir, name), ext, base, cols)
		if err != nil {
			return notes, fmt.Errorf("%s: %w", name, err)
		}
		notes = append(notes, name+": "+note)
	}
	if len(seen) == 0 {
		return notes, fmt.Errorf("%s holds no system.<schema>.<table>.parquet|json|csv file", dir)
	}
	return notes, nil
}

func (e *Engine) loadFile(path, ext, table string, cols []Column) (string, error) {
	lit := "'" + strings.ReplaceAll(path, "'", "''") + "'"
	var reader string
	switch ext {
	case ".parquet":
		reader = "read_parquet(" + lit + ")"
	case ".csv":
		reader = "read_csv(" + lit + ", header = true)"
	case ".json":
		// Declared types let nested objects load as MAPs and STRUCTs
		// instead of whatever the reader would infer.
		var defs []string
		for _, c := range cols {
			dt := DuckTypeOf(c.Parsed)
			defs = append(defs, "'"+c.Name+"': '"+strings.ReplaceAll(dt, "'", "''")+"'")
		}
		reader = "read_json(" + lit + ", format = 'newline_delimited', columns = {" + strings.Join(defs, ", ") + "})"
	}
	probe := reader
	if ext == ".json" {
		// With declared columns the reader reports exactly those; which keys
		// the file really has comes from an inferring read.
		probe = "read_json(" + lit + ", format = 'newline_delimited')"
	}
	rows, err := e.DB.Query("SELECT column_name FROM (DESCRIBE SELECT * FROM " + probe + ")")
	if err != nil {
		return "", err
	}
	have := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return "", err
		}
		have[n] = true
	}
	rows.Close()
	var sel, missing []string
	known := map[string]bool{}
	for _, c := range cols {
		known[c.Name] = true
		if !have[c.Name] {
			missing = append(missing, c.Name)
			continue
		}
		dt := DuckTypeOf(c.Parsed)
		sel = append(sel, `CAST("`+c.Name+`" AS `+dt+`) AS "`+c.Name+`"`)
	}
	var extra []string
	for n := range have {
		if !known[n] {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	if len(sel) == 0 {
		return "", fmt.Errorf("no column of %s found", table)
	}
	target := model.CollectorTable.Name
	if strings.HasPrefix(table, "system.") {
		target = catalog + strings.TrimPrefix(table, "system")
	}
	res, err := e.DB.Exec("INSERT INTO " + target + " BY NAME SELECT " + strings.Join(sel, ", ") + " FROM " + reader)
	if err != nil {
		return "", err
	}
	n, _ := res.RowsAffected()
	note := fmt.Sprintf("%d rows", n)
	if len(missing) > 0 {
		note += fmt.Sprintf("; %d columns absent, loaded as NULL (%s)", len(missing), strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		note += fmt.Sprintf("; ignored unknown columns %s", strings.Join(extra, ", "))
	}
	return note, nil
}
