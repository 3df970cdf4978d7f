// Package workspacetest is a fake Databricks workspace for tests: an HTTP
// handler that answers the REST paths databricks-sdk-go v0.175.0 calls for
// dbmon doctor and dbmon import, with the SDK's own types as JSON bodies,
// the APIs' page tokens (including the empty page with a next_page_token
// that the Unity Catalog list APIs may return) and Databricks' error body
// {"error_code": ..., "message": ...}. Failures can be injected per request,
// for example a 429 once before the call succeeds.
package workspacetest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/databricks/databricks-sdk-go/service/catalog"
	"github.com/databricks/databricks-sdk-go/service/iam"
	"github.com/databricks/databricks-sdk-go/service/jobs"
	"github.com/databricks/databricks-sdk-go/service/settings"
	"github.com/databricks/databricks-sdk-go/service/sql"
)

// Failure is an error answer injected for one METHOD and path.
type Failure struct {
	Status  int
	Code    string // error_code
	Message string
	// Times is how many requests fail before the call succeeds; 0 fails
	// every request.
	Times int
}

// Workspace is the state the fake serves. Fill it, then Start it; the
// handler reads it under a lock, so tests may change it between calls
// through Update.
type Workspace struct {
	// Token is the only bearer token accepted; other tokens get a 401.
	Token       string
	WorkspaceID string
	User        iam.User
	// Users are the workspace's other users, for the SCIM Users list
	// (filtered by userName) that doctor reads; User is listed too.
	Users []iam.User
	// ServicePrincipals are the workspace's service principals, for the
	// SCIM list filtered by applicationId.
	ServicePrincipals []iam.ServicePrincipal
	// JobPermissions are the access control lists of jobs by job id, for
	// GET /api/2.0/permissions/jobs/{id}; a job without one has an empty
	// list.
	JobPermissions map[string][]jobs.JobAccessControlResponse
	// Metastore is the current metastore assignment; nil answers 404.
	Metastore *catalog.MetastoreAssignment
	// SystemSchemas is served SystemSchemaPageSize per page (default 2),
	// with an empty page that still has a next_page_token after the first.
	SystemSchemas        []catalog.SystemSchemaInfo
	SystemSchemaPageSize int
	Warehouses           []sql.EndpointInfo
	Catalogs             map[string]catalog.CatalogInfo
	Schemas              map[string]catalog.SchemaInfo
	// Effective holds effective privileges by "securable_type/full_name"
	// (type in lower case, as the CLI writes it).
	Effective    map[string][]catalog.EffectivePrivilegeAssignment
	Destinations map[string]settings.NotificationDestination
	Jobs         []jobs.BaseJob
	Runs         []jobs.BaseRun
	// JobsPageSize and RunsPageSize cap a page below the requested limit,
	// so that small fixtures still paginate. Zero: the API's own limits.
	JobsPageSize int
	RunsPageSize int
	// StatementErrors makes a statement that mentions the key (a table
	// name) fail with that error, as the Statement Execution API reports a
	// SQL error: HTTP 200 and state FAILED. {table} in the message becomes
	// the quoted table name.
	StatementErrors map[string]sql.ServiceError
	// StatementResults answers a statement that contains the key with
	// these rows (JSON_ARRAY strings, one chunk) instead of the single 1
	// that every other successful statement returns.
	StatementResults map[string][][]string
	// Failures maps "METHOD /path" to an injected error.
	Failures map[string]*Failure

	mu         sync.Mutex
	requests   []string
	statements []string
	enabled    []string
	nextStmt   int
}

// Start serves the workspace on a local HTTP server.
func (ws *Workspace) Start() *httptest.Server {
	return httptest.NewServer(ws)
}

// Update changes the workspace under its lock.
func (ws *Workspace) Update(f func(*Workspace)) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	f(ws)
}

// Requests returns "METHOD /path?query" of every request served so far.
func (ws *Workspace) Requests() []string {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return append([]string(nil), ws.requests...)
}

// Statements returns the text of every statement executed so far.
func (ws *Workspace) Statements() []string {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return append([]string(nil), ws.statements...)
}

// Enabled returns the system schemas enabled through the API, in order.
func (ws *Workspace) Enabled() []string {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return append([]string(nil), ws.enabled...)
}

const (
	ucPrefix   = "/api/2.1/unity-catalog/"
	msPrefix   = ucPrefix + "metastores/"
	sysSchemas = "/systemschemas"
)

// ServeHTTP answers one request.
func (ws *Workspace) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	req := r.Method + " " + r.URL.Path
	if r.URL.RawQuery != "" {
		req += "?" + r.URL.RawQuery
	}
	ws.requests = append(ws.requests, req)

	if f, ok := ws.Failures[r.Method+" "+r.URL.Path]; ok && f.Times >= 0 {
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				f.Times = -1 // spent
			}
		}
		if f.Status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		apiError(w, f.Status, f.Code, f.Message)
		return
	}

	p := r.URL.Path
	if p == "/.well-known/databricks-config" {
		// Host metadata discovery needs no authentication.
		host := "http://" + r.Host
		writeJSON(w, map[string]any{
			"oidc_endpoint": host + "/oidc",
			"workspace_id":  ws.WorkspaceID,
			"cloud":         "AWS",
			"host_type":     "workspace",
		})
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+ws.Token {
		apiError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Invalid access token.")
		return
	}

	switch {
	case r.Method == "GET" && p == "/api/2.0/preview/scim/v2/Me":
		writeJSON(w, ws.User)
	case r.Method == "GET" && p == "/api/2.0/preview/scim/v2/Users":
		ws.users(w, r)
	case r.Method == "GET" && p == "/api/2.0/preview/scim/v2/ServicePrincipals":
		ws.servicePrincipals(w, r)
	case r.Method == "GET" && strings.HasPrefix(p, "/api/2.0/permissions/jobs/"):
		id := strings.TrimPrefix(p, "/api/2.0/permissions/jobs/")
		writeJSON(w, jobs.JobPermissions{ObjectId: "/jobs/" + id, ObjectType: "job", AccessControlList: ws.JobPermissions[id]})
	case r.Method == "GET" && p == ucPrefix+"current-metastore-assignment":
		if ws.Metastore == nil {
			apiError(w, 404, "METASTORE_DOES_NOT_EXIST", "No metastore assigned for the current workspace.")
			return
		}
		writeJSON(w, ws.Metastore)
	case strings.HasPrefix(p, msPrefix) && strings.Contains(p, sysSchemas):
		ws.systemSchemas(w, r)
	case r.Method == "GET" && p == "/api/2.0/sql/warehouses":
		ws.warehouses(w, r)
	case r.Method == "GET" && strings.HasPrefix(p, "/api/2.0/sql/warehouses/"):
		id := strings.TrimPrefix(p, "/api/2.0/sql/warehouses/")
		for _, wh := range ws.Warehouses {
			if wh.Id == id {
				writeJSON(w, wh) // GetWarehouseResponse has EndpointInfo's fields
				return
			}
		}
		apiError(w, 404, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Unable to find SQL warehouse with id %s.", id))
	case r.Method == "POST" && p == "/api/2.0/sql/statements":
		ws.statement(w, r)
	case r.Method == "GET" && strings.HasPrefix(p, ucPrefix+"catalogs/"):
		name := strings.TrimPrefix(p, ucPrefix+"catalogs/")
		c, ok := ws.Catalogs[name]
		if !ok {
			apiError(w, 404, "CATALOG_DOES_NOT_EXIST", fmt.Sprintf("Catalog '%s' does not exist.", name))
			return
		}
		writeJSON(w, c)
	case r.Method == "GET" && strings.HasPrefix(p, ucPrefix+"schemas/"):
		name := strings.TrimPrefix(p, ucPrefix+"schemas/")
		s, ok := ws.Schemas[name]
		if !ok {
			apiError(w, 404, "SCHEMA_DOES_NOT_EXIST", fmt.Sprintf("Schema '%s' does not exist.", name))
			return
		}
		writeJSON(w, s)
	case r.Method == "GET" && strings.HasPrefix(p, ucPrefix+"effective-permissions/"):
		key := strings.TrimPrefix(p, ucPrefix+"effective-permissions/")
		typ, name, _ := strings.Cut(key, "/")
		list, ok := ws.Effective[strings.ToLower(typ)+"/"+name]
		if !ok {
			_, catalogExists := ws.Catalogs[name]
			_, schemaExists := ws.Schemas[name]
			switch {
			case strings.EqualFold(typ, "schema") && !schemaExists:
				apiError(w, 404, "SCHEMA_DOES_NOT_EXIST", fmt.Sprintf("Schema '%s' does not exist.", name))
				return
			case !strings.EqualFold(typ, "schema") && !catalogExists:
				apiError(w, 404, "CATALOG_DOES_NOT_EXIST", fmt.Sprintf("Catalog '%s' does not exist.", name))
				return
			}
		}
		if pr := r.URL.Query().Get("principal"); pr != "" {
			var only []catalog.EffectivePrivilegeAssignment
			for _, a := range list {
				if a.Principal == pr {
					only = append(only, a)
				}
			}
			list = only
		}
		writeJSON(w, catalog.EffectivePermissionsList{PrivilegeAssignments: list})
	case r.Method == "GET" && strings.HasPrefix(p, "/api/2.0/notification-destinations/"):
		id := strings.TrimPrefix(p, "/api/2.0/notification-destinations/")
		d, ok := ws.Destinations[id]
		if !ok {
			apiError(w, 404, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Notification destination %s does not exist.", id))
			return
		}
		writeJSON(w, d)
	case r.Method == "GET" && p == "/api/2.2/jobs/list":
		ws.listJobs(w, r)
	case r.Method == "GET" && p == "/api/2.2/jobs/runs/list":
		ws.listRuns(w, r)
	default:
		apiError(w, 404, "ENDPOINT_NOT_FOUND", fmt.Sprintf("No API found for '%s %s'", r.Method, p))
	}
}

func (ws *Workspace) systemSchemas(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, msPrefix)
	id, tail, _ := strings.Cut(rest, sysSchemas)
	if ws.Metastore == nil || id != ws.Metastore.MetastoreId {
		apiError(w, 404, "METASTORE_DOES_NOT_EXIST", fmt.Sprintf("Metastore '%s' does not exist.", id))
		return
	}
	if r.Method == "PUT" && strings.HasPrefix(tail, "/") {
		name := strings.TrimPrefix(tail, "/")
		for i, s := range ws.SystemSchemas {
			if s.Schema == name {
				if s.State != "" && s.State != "AVAILABLE" {
					apiError(w, 400, "INVALID_PARAMETER_VALUE", fmt.Sprintf("System schema %s is in state %s and cannot be enabled.", name, s.State))
					return
				}
				ws.SystemSchemas[i].State = "ENABLE_INITIALIZED"
				ws.enabled = append(ws.enabled, name)
				writeJSON(w, map[string]any{})
				return
			}
		}
		apiError(w, 404, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("System schema %s does not exist.", name))
		return
	}
	if r.Method != "GET" || tail != "" {
		apiError(w, 404, "ENDPOINT_NOT_FOUND", fmt.Sprintf("No API found for '%s %s'", r.Method, r.URL.Path))
		return
	}
	size := ws.SystemSchemaPageSize
	if size <= 0 {
		size = 2
	}
	// Pages: the first size schemas, then an empty page, then the rest.
	page, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Query().Get("page_token"), "ss-"))
	var resp catalog.ListSystemSchemasResponse
	switch {
	case page == 0:
		resp.Schemas = ws.SystemSchemas[:min(size, len(ws.SystemSchemas))]
		if len(ws.SystemSchemas) > size {
			resp.NextPageToken = "ss-1"
		}
	case page == 1:
		resp.NextPageToken = "ss-2" // empty page, more to come
	default:
		from := size * (page - 1)
		to := min(from+size, len(ws.SystemSchemas))
		resp.Schemas = ws.SystemSchemas[from:to]
		if to < len(ws.SystemSchemas) {
			resp.NextPageToken = "ss-" + strconv.Itoa(page+1)
		}
	}
	writeJSON(w, resp)
}

func (ws *Workspace) warehouses(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, sql.ListWarehousesResponse{Warehouses: ws.Warehouses})
}

func (ws *Workspace) statement(w http.ResponseWriter, r *http.Request) {
	var req sql.ExecuteStatementRequest
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &req); err != nil {
		apiError(w, 400, "MALFORMED_REQUEST", err.Error())
		return
	}
	found := false
	for _, wh := range ws.Warehouses {
		if wh.Id == req.WarehouseId {
			found = true
		}
	}
	if !found {
		apiError(w, 404, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Warehouse %s does not exist.", req.WarehouseId))
		return
	}
	ws.nextStmt++
	ws.statements = append(ws.statements, req.Statement)
	resp := sql.StatementResponse{StatementId: fmt.Sprintf("01ef-%04d", ws.nextStmt)}
	keys := make([]string, 0, len(ws.StatementErrors))
	for k := range ws.StatementErrors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if strings.Contains(req.Statement, k) {
			e := ws.StatementErrors[k]
			if f := strings.Fields(req.Statement); len(f) > 3 && strings.EqualFold(f[2], "FROM") {
				// `system`.`lakeflow`.`jobs`, as Databricks quotes a name
				e.Message = strings.ReplaceAll(e.Message, "{table}", "`"+strings.ReplaceAll(f[3], ".", "`.`")+"`")
			}
			resp.Status = &sql.StatementStatus{State: sql.StatementStateFailed, Error: &e}
			writeJSON(w, resp)
			return
		}
	}
	resp.Status = &sql.StatementStatus{State: sql.StatementStateSucceeded}
	keys = keys[:0]
	for k := range ws.StatementResults {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if strings.Contains(req.Statement, k) {
			rows := ws.StatementResults[k]
			resp.Manifest = &sql.ResultManifest{Format: sql.FormatJsonArray, TotalRowCount: int64(len(rows)), TotalChunkCount: 1}
			resp.Result = &sql.ResultData{ChunkIndex: 0, RowCount: int64(len(rows)), DataArray: rows}
			writeJSON(w, resp)
			return
		}
	}
	resp.Manifest = &sql.ResultManifest{Format: sql.FormatJsonArray, TotalRowCount: 1, TotalChunkCount: 1,
		Schema: &sql.ResultSchema{ColumnCount: 1, Columns: []sql.ColumnInfo{{Name: "1", TypeName: sql.ColumnInfoTypeNameInt, TypeText: "INT"}}}}
	resp.Result = &sql.ResultData{ChunkIndex: 0, RowCount: 1, DataArray: [][]string{{"1"}}}
	writeJSON(w, resp)
}

func (ws *Workspace) listJobs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 20
	if v := q.Get("limit"); v != "" {
		limit, _ = strconv.Atoi(v)
		if limit <= 0 || limit > 100 {
			apiError(w, 400, "INVALID_PARAMETER_VALUE", "The limit must be greater than 0 and less than or equal to 100.")
			return
		}
	}
	if ws.JobsPageSize > 0 {
		limit = min(limit, ws.JobsPageSize)
	}
	from, ok := offset(q.Get("page_token"))
	if !ok {
		apiError(w, 400, "INVALID_PARAMETER_VALUE", "Invalid page token.")
		return
	}
	to := min(from+limit, len(ws.Jobs))
	resp := jobs.ListJobsResponse{Jobs: ws.Jobs[from:to]}
	if to < len(ws.Jobs) {
		resp.HasMore = true
		resp.NextPageToken = token(to)
	}
	if from > 0 {
		resp.PrevPageToken = token(max(0, from-limit))
	}
	writeJSON(w, resp)
}

func (ws *Workspace) listRuns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 20
	if v := q.Get("limit"); v != "" {
		limit, _ = strconv.Atoi(v)
		switch {
		case limit < 0 || limit > 25:
			apiError(w, 400, "INVALID_PARAMETER_VALUE", "The limit must be between 0 and 25.")
			return
		case limit == 0:
			limit = 25 // the service maximum
		}
	}
	if q.Get("active_only") == "true" && q.Get("completed_only") == "true" {
		apiError(w, 400, "INVALID_PARAMETER_VALUE", "active_only and completed_only cannot both be true.")
		return
	}
	if ws.RunsPageSize > 0 {
		limit = min(limit, ws.RunsPageSize)
	}
	num := func(k string) int64 {
		v, _ := strconv.ParseInt(q.Get(k), 10, 64)
		return v
	}
	jobID, fromT, toT := num("job_id"), num("start_time_from"), num("start_time_to")
	var runs []jobs.BaseRun
	for _, run := range ws.Runs {
		switch {
		case jobID != 0 && run.JobId != jobID,
			fromT != 0 && run.StartTime < fromT,
			toT != 0 && run.StartTime > toT,
			q.Get("completed_only") == "true" && run.EndTime == 0,
			q.Get("active_only") == "true" && run.EndTime != 0:
			continue
		}
		runs = append(runs, run)
	}
	// Descending by end time, falling back to start time while running.
	key := func(r jobs.BaseRun) int64 {
		if r.EndTime > 0 {
			return r.EndTime
		}
		return r.StartTime
	}
	sort.SliceStable(runs, func(i, j int) bool {
		if key(runs[i]) != key(runs[j]) {
			return key(runs[i]) > key(runs[j])
		}
		return runs[i].RunId > runs[j].RunId
	})
	from, ok := offset(q.Get("page_token"))
	if !ok {
		apiError(w, 400, "INVALID_PARAMETER_VALUE", "Invalid page token.")
		return
	}
	from = min(from, len(runs))
	to := min(from+limit, len(runs))
	resp := jobs.ListRunsResponse{Runs: runs[from:to]}
	if to < len(runs) {
		resp.HasMore = true
		resp.NextPageToken = token(to)
	}
	if from > 0 {
		resp.PrevPageToken = token(max(0, from-limit))
	}
	writeJSON(w, resp)
}

// token and offset encode a list position as an opaque page token.
func token(off int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(off)))
}

func offset(tok string) (int, bool) {
	if tok == "" {
		return 0, true
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || !strings.HasPrefix(string(b), "offset:") {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
	return n, err == nil && n >= 0
}

// users answers the SCIM Users list for the one filter doctor sends,
// userName eq "<name>" (SCIM compares user names without case), as pages
// from startIndex (1-based): a page past the matches is empty, which ends
// the SDK's iteration.
func (ws *Workspace) users(w http.ResponseWriter, r *http.Request) {
	filter := r.URL.Query().Get("filter")
	want, ok := strings.CutPrefix(filter, "userName eq ")
	if !ok || len(want) < 2 || want[0] != '"' || want[len(want)-1] != '"' {
		apiError(w, 400, "INVALID_PARAMETER_VALUE", fmt.Sprintf("unsupported filter %q", filter))
		return
	}
	want = want[1 : len(want)-1]
	var matches []iam.User
	for _, u := range append([]iam.User{ws.User}, ws.Users...) {
		if strings.EqualFold(u.UserName, want) {
			matches = append(matches, u)
		}
	}
	start, _ := strconv.Atoi(r.URL.Query().Get("startIndex"))
	start = max(start, 1)
	var page []iam.User
	if start <= len(matches) {
		page = matches[start-1:]
	}
	writeJSON(w, iam.ListUsersResponse{Resources: page, StartIndex: int64(start), TotalResults: int64(len(matches)), ItemsPerPage: int64(len(page))})
}

// servicePrincipals answers the SCIM list filtered by applicationId eq "x".
func (ws *Workspace) servicePrincipals(w http.ResponseWriter, r *http.Request) {
	filter := r.URL.Query().Get("filter")
	want, ok := strings.CutPrefix(filter, "applicationId eq ")
	if !ok || len(want) < 2 || want[0] != '"' || want[len(want)-1] != '"' {
		apiError(w, 400, "INVALID_PARAMETER_VALUE", fmt.Sprintf("unsupported filter %q", filter))
		return
	}
	want = want[1 : len(want)-1]
	var matches []iam.ServicePrincipal
	for _, sp := range ws.ServicePrincipals {
		if sp.ApplicationId == want {
			matches = append(matches, sp)
		}
	}
	start, _ := strconv.Atoi(r.URL.Query().Get("startIndex"))
	start = max(start, 1)
	var page []iam.ServicePrincipal
	if start <= len(matches) {
		page = matches[start-1:]
	}
	writeJSON(w, iam.ListServicePrincipalResponse{Resources: page, StartIndex: int64(start), TotalResults: int64(len(matches)), ItemsPerPage: int64(len(page))})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		http.Error(w, err.Error(), 500)
	}
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error_code": code, "message": msg})
}
