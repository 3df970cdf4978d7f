package generator

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/dbmon/dbmon/generator/render"
)

// vendoredSchema is the official bundle JSON Schema kept in the repository
// (schemas/README.md says which CLI release printed it and how to refresh
// it), relative to this package.
const vendoredSchema = "../schemas/databricks-bundle-schema.json"

// bundleSchema loads the official bundle JSON Schema: the vendored copy, or
// the file DBMON_BUNDLE_SCHEMA names (relative paths are taken from the
// repository root). It never skips: a clone has the vendored copy.
func bundleSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	source := vendoredSchema
	if env := os.Getenv("DBMON_BUNDLE_SCHEMA"); env != "" {
		source = env
		if !filepath.IsAbs(source) {
			source = filepath.Join("..", source)
		}
	}
	data, err := os.ReadFile(source)
	if err != nil {
		t.Fatalf("bundle JSON Schema: %v", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", source, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("bundle.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("bundle.schema.json")
	if err != nil {
		t.Fatalf("compile %s: %v", source, err)
	}
	return sch
}

// mergedConfig loads databricks.yml and every file its include globs match,
// merging mappings the way the CLI does (resources of all files side by
// side; a key defined twice is an error, as it is for the CLI).
func mergedConfig(files []render.File) (map[string]any, error) {
	byPath := map[string][]byte{}
	for _, f := range files {
		byPath[f.Path] = f.Data
	}
	root, err := decodeYAML(byPath["databricks.yml"])
	if err != nil {
		return nil, err
	}
	includes, _ := root["include"].([]any)
	var paths []string
	for _, inc := range includes {
		pattern, _ := inc.(string)
		matched := false
		for p := range byPath {
			if ok, _ := path.Match(pattern, p); ok {
				paths = append(paths, p)
				matched = true
			}
		}
		if !matched {
			return nil, errors.New("include " + pattern + " matches no file (the CLI rejects this)")
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		doc, err := decodeYAML(byPath[p])
		if err != nil {
			return nil, errors.New(p + ": " + err.Error())
		}
		if err := mergeInto(root, doc, p); err != nil {
			return nil, err
		}
	}
	return root, nil
}

func decodeYAML(data []byte) (map[string]any, error) {
	var v map[string]any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	// Round-trip through JSON so the validator sees JSON types.
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	return out, json.Unmarshal(j, &out)
}

func mergeInto(dst, src map[string]any, where string) error {
	for k, v := range src {
		existing, ok := dst[k]
		if !ok {
			dst[k] = v
			continue
		}
		a, aok := existing.(map[string]any)
		b, bok := v.(map[string]any)
		if !aok || !bok {
			return errors.New(where + ": " + k + " is defined twice")
		}
		if err := mergeInto(a, b, where); err != nil {
			return err
		}
	}
	return nil
}

// TestBundleSchema validates the merged bundle configuration of every spec
// against the official Databricks bundle JSON Schema.
func TestBundleSchema(t *testing.T) {
	sch := bundleSchema(t)
	for _, name := range specNames(t) {
		t.Run(name, func(t *testing.T) {
			cfg, err := mergedConfig(generate(t, name))
			if err != nil {
				t.Fatal(err)
			}
			// Round-trip once more: the validator wants json.Number-free values
			// from its own decoder for exact number handling.
			j, _ := json.Marshal(cfg)
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(v); err != nil {
				t.Errorf("bundle does not match the official schema:\n%s", strings.TrimSpace(err.Error()))
			}
			res, _ := cfg["resources"].(map[string]any)
			for _, kind := range []string{"schemas", "pipelines", "jobs"} {
				if m, _ := res[kind].(map[string]any); len(m) == 0 {
					t.Errorf("merged bundle has no resources.%s", kind)
				}
			}
		})
	}
}

// TestBundleSchemaRejects proves the validation above can fail: a key the
// schema does not know and a wrong type inside a generated resource are
// both rejected.
func TestBundleSchemaRejects(t *testing.T) {
	sch := bundleSchema(t)
	cfg, err := mergedConfig(generate(t, "minimal"))
	if err != nil {
		t.Fatal(err)
	}
	for key, mutate := range map[string]func(map[string]any){
		"unknown key": func(p map[string]any) { p["target_schema"] = "x" },
		"wrong type":  func(p map[string]any) { p["serverless"] = "yes" },
	} {
		j, _ := json.Marshal(cfg)
		var copyCfg map[string]any
		_ = json.Unmarshal(j, &copyCfg)
		for _, p := range copyCfg["resources"].(map[string]any)["pipelines"].(map[string]any) {
			mutate(p.(map[string]any))
		}
		j, _ = json.Marshal(copyCfg)
		v, _ := jsonschema.UnmarshalJSON(bytes.NewReader(j))
		if sch.Validate(v) == nil {
			t.Errorf("%s: the schema accepted a broken pipeline", key)
		}
	}
}

// TestVendoredSchemaIsDocumented keeps schemas/README.md truthful: the size
// and SHA-256 it states are those of the vendored file, so a refresh that
// forgets to update the stated CLI version is caught by its digest.
func TestVendoredSchemaIsDocumented(t *testing.T) {
	data, err := os.ReadFile(vendoredSchema)
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../schemas/README.md")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	text := strings.Join(strings.Fields(string(readme)), " ")
	for _, want := range []string{"`" + hex.EncodeToString(sum[:]) + "`", fmt.Sprintf("(%s bytes,", thousands(len(data)))} {
		if !strings.Contains(text, want) {
			t.Errorf("schemas/README.md does not state %s for the vendored schema", want)
		}
	}
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
