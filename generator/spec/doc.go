// Package spec loads a dbmon spec (version 1) from YAML and reports every
// problem in it at once.
//
// Loading runs in three steps, each keeping the yaml.v3 node of every value so
// that a problem points at its line and column:
//
//  1. Parse: size, tabs, YAML syntax, duplicate keys and aliases are checked
//     while the document is turned into plain JSON values.
//  2. Schema: the embedded JSON Schema (dbmon.schema.json, printed by
//     `dbmon schema`) checks shapes, types, enums and patterns. Unknown keys
//     get the nearest known key as a suggestion.
//  3. Rules: cross-field rules the schema cannot express (references to
//     destinations, regexes, time zones, cron strings, durations, duplicates).
//
// The result is a Spec that mirrors the file; defaults are applied later, in
// package model.
package spec
