// Package export renders samples for Prometheus and for humans.
package export

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/example-org/node-agent/internal/collector"
)

// Prometheus writes s in the Prometheus text exposition format.
func Prometheus(w io.Writer, s collector.Sample) error {
	gauges := []struct {
		name, help string
		value      float64
	}{
		{"node_agent_load1", "1m load average.", s.Load1},
		{"node_agent_load5", "5m load average.", s.Load5},
		{"node_agent_load15", "15m load average.", s.Load15},
		{"node_agent_memory_total_bytes", "Total memory.", float64(s.MemTotalKiB) * 1024},
		{"node_agent_memory_available_bytes", "Available memory.", float64(s.MemAvailKiB) * 1024},
		{"node_agent_memory_pressure_ratio", "Share of memory in use.", s.MemoryPressure()},
		{"node_agent_uptime_seconds", "Node uptime.", s.UptimeSecond},
	}
	label := fmt.Sprintf("{node=%q}", s.Node)
	for _, g := range gauges {
		if _, err := fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s%s %g\n", g.name, g.help, g.name, g.name, label, g.value); err != nil {
			return err
		}
	}
	if len(s.Errors) > 0 {
		names := make([]string, 0, len(s.Errors))
		for name := range s.Errors {
			names = append(names, name)
		}
		sort.Strings(names)
		fmt.Fprintln(w, "# TYPE node_agent_collect_errors gauge")
		for _, name := range names {
			fmt.Fprintf(w, "node_agent_collect_errors{node=%q,source=%q} 1\n", s.Node, name)
		}
	}
	return nil
}

// Summary is a one-line human description of a sample, used in logs.
func Summary(s collector.Sample) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s load=%.2f/%.2f/%.2f mem=%.0f%%", s.Node, s.Load1, s.Load5, s.Load15, 100*s.MemoryPressure())
	switch p := s.MemoryPressure(); {
	case p > 0.95:
		b.WriteString(" CRITICAL")
	case p > 0.8:
		b.WriteString(" high")
	}
	if n := len(s.Errors); n > 0 {
		fmt.Fprintf(&b, " errors=%d", n)
	}
	return b.String()
}
