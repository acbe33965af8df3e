// Package checks implements the host health checks: disk space, file
// freshness and TCP reachability.
package checks

import (
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Severity orders check outcomes.
type Severity int

const (
	OK Severity = iota
	Warning
	Critical
)

func (s Severity) String() string {
	switch s {
	case OK:
		return "ok"
	case Warning:
		return "warning"
	default:
		return "critical"
	}
}

// MarshalText makes severities readable in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Result is the outcome of one check.
type Result struct {
	Name     string   `json:"name"`
	Severity Severity `json:"severity"`
	Detail   string   `json:"detail"`
}

// Check is one configured health check.
type Check interface {
	Name() string
	Run() Result
}

// Disk warns when a filesystem fills up.
type Disk struct {
	Path             string
	WarnPct, CritPct float64
}

func (d Disk) Name() string { return "disk:" + d.Path }

func (d Disk) Run() Result {
	var st syscall.Statfs_t
	if err := syscall.Statfs(d.Path, &st); err != nil {
		return Result{d.Name(), Critical, err.Error()}
	}
	if st.Blocks == 0 {
		return Result{d.Name(), OK, "pseudo filesystem"}
	}
	used := 100 * (1 - float64(st.Bavail)/float64(st.Blocks))
	sev := OK
	switch {
	case used >= d.CritPct:
		sev = Critical
	case used >= d.WarnPct:
		sev = Warning
	}
	return Result{d.Name(), sev, fmt.Sprintf("%.1f%% used", used)}
}

// Freshness fails when a file (e.g. a heartbeat) is older than MaxAge.
type Freshness struct {
	Path   string
	MaxAge time.Duration
}

func (f Freshness) Name() string { return "fresh:" + f.Path }

func (f Freshness) Run() Result {
	info, err := os.Stat(f.Path)
	if os.IsNotExist(err) {
		return Result{f.Name(), Critical, "missing"}
	}
	if err != nil {
		return Result{f.Name(), Critical, err.Error()}
	}
	age := time.Since(info.ModTime())
	if age > f.MaxAge {
		return Result{f.Name(), Warning, fmt.Sprintf("stale: %s old", age.Round(time.Second))}
	}
	return Result{f.Name(), OK, fmt.Sprintf("%s old", age.Round(time.Second))}
}

// TCP checks that something accepts connections on Address.
type TCP struct {
	Address string
	Timeout time.Duration
}

func (t TCP) Name() string { return "tcp:" + t.Address }

func (t TCP) Run() Result {
	conn, err := net.DialTimeout("tcp", t.Address, t.Timeout)
	if err != nil {
		return Result{t.Name(), Critical, err.Error()}
	}
	conn.Close()
	return Result{t.Name(), OK, "reachable"}
}

// Parse builds checks from a spec like
// "disk:/var,fresh:/run/heartbeat:30s,tcp:127.0.0.1:10250".
func Parse(spec string) ([]Check, error) {
	var out []Check
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		kind, arg, _ := strings.Cut(item, ":")
		switch kind {
		case "disk":
			out = append(out, Disk{Path: arg, WarnPct: 80, CritPct: 95})
		case "fresh":
			i := strings.LastIndex(arg, ":")
			if i < 0 {
				return nil, fmt.Errorf("fresh check %q needs path:maxage", arg)
			}
			age, err := time.ParseDuration(arg[i+1:])
			if err != nil {
				return nil, fmt.Errorf("fresh check %q: %w", arg, err)
			}
			out = append(out, Freshness{Path: arg[:i], MaxAge: age})
		case "tcp":
			out = append(out, TCP{Address: arg, Timeout: time.Second})
		default:
			return nil, fmt.Errorf("unknown check kind %q", kind)
		}
	}
	return out, nil
}

// RunAll runs every check and returns the results sorted by name and
// the worst severity.
func RunAll(checks []Check) ([]Result, Severity) {
	results := make([]Result, 0, len(checks))
	worst := OK
	for _, c := range checks {
		r := c.Run()
		if r.Severity > worst {
			worst = r.Severity
		}
		results = append(results, r)
	}
	sort.Slice(results, func(i, j int) bool { return results[i].Name < results[j].Name })
	return results, worst
}
