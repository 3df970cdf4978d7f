package main

// starterSpec is what `dbmon init` writes: valid as it stands, with the
// optional sections commented out so an analyst can switch them on.
const starterSpec = `# yaml-language-server: $schema=dbmon.schema.json
# dbmon spec, version 1. Run "dbmon validate" after each edit and
# "dbmon generate" to write the bundle. Reference: "dbmon schema".
version: 1

bundle:
  name: job-monitoring               # bundle name: lowercase letters, digits, _ and -
  catalog: main                      # Unity Catalog catalog for the monitoring tables
  schema: job_monitoring             # created by the bundle
  warehouse: Shared Serverless       # SQL warehouse by name, or use warehouse_id
  timezone: UTC                      # IANA zone for deadlines and daily rollups

# workspaces:                        # omit to monitor every workspace
#   - {id: "1234567890123456", name: prod}

# pricing:
#   discount_percent: 0              # contract discount on list prices

# teams:                             # first match owns the job
#   - name: data-platform
#     match: {tags: {team: platform}}
#     notify: [platform-email]
#     monthly_budget: 10000

# destinations:
#   platform-email: {emails: [platform@example.com]}
#   leadership-email: {emails: [cfo@example.com]}   # workspace users

# slas:
#   - name: daily-revenue-by-8
#     jobs: {names: [revenue_daily]}
#     deadline: "08:00"
#     max_duration: 45m
#     severity: critical

refresh: 1h                          # pipeline refresh cadence

# reports:                           # dashboards e-mailed on a schedule
#   - name: weekly-executive-digest
#     dashboard: executive_overview
#     schedule: "0 0 8 ? * MON"        # Mondays 08:00 in bundle.timezone
#     recipients: [leadership-email]   # destination keys, or team
#     subject: "Databricks jobs: the week"
`
