package twin

import (
	"cmp"
	"fmt"
	"math"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"gopkg.in/yaml.v3"

	"github.com/dbmon/dbmon/generator/render"
	"github.com/dbmon/dbmon/generator/spec"
)

// Alert states of the v2 state machine. UNKNOWN is the state before the
// first evaluation, and what an empty result gives when the alert sets no
// empty_result_state.
const (
	StateUnknown   = "UNKNOWN"
	StateOK        = "OK"
	StateTriggered = "TRIGGERED"
	StateError     = "ERROR"
)

// AlertSettings is what a deployed SQL alert (v2) does, read from the
// bundle's resources/alerts.yml: when it runs, how its query's result
// becomes a state, and whom it tells.
type AlertSettings struct {
	Key              string
	Cron, Timezone   string // schedule.quartz_cron_schedule, schedule.timezone_id
	Paused           bool   // schedule.pause_status: PAUSED
	Operator         string // evaluation.comparison_operator
	Source           string // evaluation.source.name: the column evaluated
	Aggregation      string // evaluation.source.aggregation; "" = the first row's value
	Threshold        float64
	EmptyResultState string // evaluation.empty_result_state; "" = UNKNOWN
	NotifyOnOK       bool
	RetriggerSeconds int
	Subscriptions    []Subscription
}

// Subscription is one subscriber of an alert as deployed.
type Subscription struct {
	DestinationID string `yaml:"destination_id"`
	UserEmail     string `yaml:"user_email"`
}

type alertResource struct {
	QueryText  string `yaml:"query_text"`
	Evaluation struct {
		ComparisonOperator string `yaml:"comparison_operator"`
		Source             struct {
			Name        string `yaml:"name"`
			Aggregation string `yaml:"aggregation"`
		} `yaml:"source"`
		Threshold struct {
			Value struct {
				DoubleValue *float64 `yaml:"double_value"`
				BoolValue   *bool    `yaml:"bool_value"`
				StringValue *string  `yaml:"string_value"`
			} `yaml:"value"`
			Column *struct {
				Name string `yaml:"name"`
			} `yaml:"column"`
		} `yaml:"threshold"`
		EmptyResultState string `yaml:"empty_result_state"`
		Notification     struct {
			NotifyOnOK       bool           `yaml:"notify_on_ok"`
			RetriggerSeconds int            `yaml:"retrigger_seconds"`
			Subscriptions    []Subscription `yaml:"subscriptions"`
		} `yaml:"notification"`
	} `yaml:"evaluation"`
	Schedule struct {
		QuartzCronSchedule string `yaml:"quartz_cron_schedule"`
		TimezoneID         string `yaml:"timezone_id"`
		PauseStatus        string `yaml:"pause_status"`
	} `yaml:"schedule"`
}

// AlertsFile is the bundle file that declares the alerts.
const AlertsFile = "resources/alerts.yml"

// ReadAlertSettings reads every alert of a rendered bundle from
// resources/alerts.yml, by resource key.
func ReadAlertSettings(files []render.File) (map[string]AlertSettings, error) {
	var data []byte
	for _, f := range files {
		if f.Path == AlertsFile {
			data = f.Data
		}
	}
	out := map[string]AlertSettings{}
	if data == nil {
		return out, nil
	}
	var doc struct {
		Resources struct {
			Alerts map[string]alertResource `yaml:"alerts"`
		} `yaml:"resources"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", AlertsFile, err)
	}
	for key, r := range doc.Resources.Alerts {
		ev := r.Evaluation
		s := AlertSettings{Key: key, Cron: r.Schedule.QuartzCronSchedule, Timezone: r.Schedule.TimezoneID,
			Paused: r.Schedule.PauseStatus == "PAUSED", Operator: ev.ComparisonOperator,
			Source: ev.Source.Name, Aggregation: ev.Source.Aggregation, EmptyResultState: ev.EmptyResultState,
			NotifyOnOK: ev.Notification.NotifyOnOK, RetriggerSeconds: ev.Notification.RetriggerSeconds,
			Subscriptions: ev.Notification.Subscriptions}
		switch th := ev.Threshold; {
		case th.Column != nil || th.Value.StringValue != nil:
			return nil, fmt.Errorf("%s: alert %s: the twin evaluates numeric thresholds only", AlertsFile, key)
		case th.Value.DoubleValue != nil:
			s.Threshold = *th.Value.DoubleValue
		case th.Value.BoolValue != nil && *th.Value.BoolValue:
			s.Threshold = 1
		}
		if _, err := spec.ParseQuartzCron(s.Cron); err != nil {
			return nil, fmt.Errorf("%s: alert %s: schedule: %w", AlertsFile, key, err)
		}
		if s.Timezone == "" {
			s.Timezone = "UTC"
		}
		if _, err := time.LoadLocation(s.Timezone); err != nil {
			return nil, fmt.Errorf("%s: alert %s: %w", AlertsFile, key, err)
		}
		if !knownOperators[s.Operator] {
			return nil, fmt.Errorf("%s: alert %s: comparison_operator %q is not one the twin knows", AlertsFile, key, s.Operator)
		}
		if !knownAggregations[s.Aggregation] {
			return nil, fmt.Errorf("%s: alert %s: aggregation %q is not one the twin knows", AlertsFile, key, s.Aggregation)
		}
		switch s.EmptyResultState {
		case "", StateUnknown, StateOK, StateTriggered, StateError:
		default:
			return nil, fmt.Errorf("%s: alert %s: empty_result_state %q is not a state", AlertsFile, key, s.EmptyResultState)
		}
		out[key] = s
	}
	return out, nil
}

var knownOperators = map[string]bool{"GREATER_THAN": true, "GREATER_THAN_OR_EQUAL": true, "LESS_THAN": true,
	"LESS_THAN_OR_EQUAL": true, "EQUAL": true, "NOT_EQUAL": true, "IS_NULL": true, "IS_NOT_NULL": true}

var knownAggregations = map[string]bool{"": true, "COUNT": true, "COUNT_DISTINCT": true, "SUM": true,
	"AVG": true, "MIN": true, "MAX": true, "MEDIAN": true, "STDDEV": true}

// QueryResult is an alert query's outcome: its columns and rows, or the
// error it failed with.
type QueryResult struct {
	Columns []string
	Rows    [][]any
	Err     error
}

// Evaluate turns a query result into the alert's state: ERROR when the
// query failed or the source column is missing, the empty_result_state
// when it returned no row, else TRIGGERED when the aggregated source column
// compares to the threshold as the operator says, and OK when it does not.
func (s AlertSettings) Evaluate(r QueryResult) (string, error) {
	if r.Err != nil {
		return StateError, r.Err
	}
	if len(r.Rows) == 0 {
		return cmp.Or(s.EmptyResultState, StateUnknown), nil
	}
	col := slices.IndexFunc(r.Columns, func(c string) bool { return strings.EqualFold(c, s.Source) })
	if col < 0 {
		return StateError, fmt.Errorf("the query has no column %s", s.Source)
	}
	vals := make([]any, 0, len(r.Rows))
	for _, row := range r.Rows {
		vals = append(vals, row[col])
	}
	v, err := aggregate(s.Aggregation, vals)
	if err != nil {
		return StateError, err
	}
	var hold bool
	switch s.Operator {
	case "IS_NULL":
		hold = v == nil
	case "IS_NOT_NULL":
		hold = v != nil
	default:
		if v == nil {
			return StateOK, nil // a NULL compares to nothing
		}
		x := *v
		switch s.Operator {
		case "GREATER_THAN":
			hold = x > s.Threshold
		case "GREATER_THAN_OR_EQUAL":
			hold = x >= s.Threshold
		case "LESS_THAN":
			hold = x < s.Threshold
		case "LESS_THAN_OR_EQUAL":
			hold = x <= s.Threshold
		case "EQUAL":
			hold = x == s.Threshold
		case "NOT_EQUAL":
			hold = x != s.Threshold
		}
	}
	if hold {
		return StateTriggered, nil
	}
	return StateOK, nil
}

// aggregate reduces the source column as the alert's aggregation says; nil
// is SQL NULL. COUNT and COUNT_DISTINCT skip NULLs, as SQL does.
func aggregate(agg string, vals []any) (*float64, error) {
	f := func(x float64) *float64 { return &x }
	switch agg {
	case "COUNT":
		n := 0
		for _, v := range vals {
			if v != nil {
				n++
			}
		}
		return f(float64(n)), nil
	case "COUNT_DISTINCT":
		seen := map[string]bool{}
		for _, v := range vals {
			if v != nil {
				seen[fmt.Sprint(v)] = true
			}
		}
		return f(float64(len(seen))), nil
	}
	var xs []float64
	for _, v := range vals {
		if v == nil {
			continue
		}
		x, err := sqlNumber(v)
		if err != nil {
			return nil, err
		}
		xs = append(xs, x)
	}
	if agg == "" {
		if vals[0] == nil {
			return nil, nil
		}
		return f(xs[0]), nil
	}
	if len(xs) == 0 {
		return nil, nil
	}
	sort.Float64s(xs)
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	switch agg {
	case "SUM":
		return f(sum), nil
	case "AVG":
		return f(sum / float64(len(xs))), nil
	case "MIN":
		return f(xs[0]), nil
	case "MAX":
		return f(xs[len(xs)-1]), nil
	case "MEDIAN":
		m := len(xs) / 2
		if len(xs)%2 == 1 {
			return f(xs[m]), nil
		}
		return f((xs[m-1] + xs[m]) / 2), nil
	case "STDDEV": // the sample standard deviation, as stddev in SQL
		if len(xs) < 2 {
			return nil, nil
		}
		mean, ss := sum/float64(len(xs)), 0.0
		for _, x := range xs {
			ss += (x - mean) * (x - mean)
		}
		return f(math.Sqrt(ss / float64(len(xs)-1))), nil
	}
	return nil, fmt.Errorf("unknown aggregation %s", agg)
}

// sqlNumber reads a scanned SQL value as a float64.
func sqlNumber(v any) (float64, error) {
	switch x := v.(type) {
	case int64:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case int16:
		return float64(x), nil
	case int8:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	case uint32:
		return float64(x), nil
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, nil
	case duckdb.Decimal:
		return x.Float64(), nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, fmt.Errorf("value %q is not a number", x)
		}
		return f, nil
	}
	return 0, fmt.Errorf("value %v (%T) is not a number", v, v)
}

// AlertMachine is one alert's v2 state machine: its state and when it last
// notified.
type AlertMachine struct {
	Settings   AlertSettings
	State      string // StateUnknown before the first evaluation
	notifiedAt time.Time
}

// NewAlertMachine starts an alert in UNKNOWN.
func NewAlertMachine(s AlertSettings) *AlertMachine {
	return &AlertMachine{Settings: s, State: StateUnknown}
}

// Step moves the alert to the state of an evaluation at time at and says
// whether that notifies the subscribers:
//   - a move to TRIGGERED from any other state notifies;
//   - staying TRIGGERED notifies again once retrigger_seconds have passed
//     since the last notification (0 or unset: never);
//   - a move from TRIGGERED to OK notifies when notify_on_ok is set;
//   - nothing else notifies (ERROR and UNKNOWN are states, not pages).
func (m *AlertMachine) Step(at time.Time, state string) (notify bool) {
	prev := m.State
	m.State = state
	switch {
	case state == StateTriggered && prev != StateTriggered:
		notify = true
	case state == StateTriggered:
		r := m.Settings.RetriggerSeconds
		notify = r > 0 && !at.Before(m.notifiedAt.Add(time.Duration(r)*time.Second))
	case state == StateOK && prev == StateTriggered:
		notify = m.Settings.NotifyOnOK
	}
	if notify {
		m.notifiedAt = at
	}
	return notify
}

// destinationKeys names an alert's subscribers by the spec's destination
// keys, sorted; a subscriber no key names keeps its id or address.
func destinationKeys(subs []Subscription, dests map[string]spec.Destination) []string {
	keys := make([]string, 0, len(dests))
	for k := range dests {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := []string{}
	for _, s := range subs {
		found := false
		for _, k := range keys {
			d := dests[k]
			if (s.DestinationID != "" && d.DestinationID == s.DestinationID) || (s.UserEmail != "" && slices.Contains(d.Emails, s.UserEmail)) {
				out = append(out, k)
				found = true
			}
		}
		if !found {
			out = append(out, cmp.Or(s.DestinationID, s.UserEmail))
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}
