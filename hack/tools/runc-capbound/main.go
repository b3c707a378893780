// runc-capbound is an OCI runtime for dockerd (--add-runtime NAME=PATH) on hosts whose
// capability bounding set lacks capabilities that docker grants --privileged
// containers (here CAP_SYS_RESOURCE): runc then fails with "unable to apply caps:
// operation not permitted". It removes from the OCI spec every capability the bounding
// set lacks — the bundle's config.json on create/run, the --process file on exec — and
// then execs runc with the same arguments. Nothing else in the spec changes.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// capabilityNames are the Linux capabilities by bit number (linux/capability.h).
var capabilityNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// runc is the runtime this wrapper hands over to.
const runc = "runc"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "runc-capbound: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	missing, err := missingFromBoundingSet()
	if err != nil {
		return err
	}
	if spec := specToEdit(args); spec != "" && len(missing) > 0 {
		if err := dropCapabilities(spec, missing); err != nil {
			return fmt.Errorf("dropping %v from %s: %w", missing, spec, err)
		}
	}
	path, err := lookPath(runc)
	if err != nil {
		return err
	}
	return syscall.Exec(path, append([]string{runc}, args...), os.Environ())
}

// missingFromBoundingSet names the capabilities this kernel knows that the bounding set lacks.
func missingFromBoundingSet() (map[string]bool, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil, err
	}
	var bounding uint64
	for _, line := range strings.Split(string(status), "\n") {
		if hex, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			if bounding, err = strconv.ParseUint(strings.TrimSpace(hex), 16, 64); err != nil {
				return nil, fmt.Errorf("reading CapBnd from /proc/self/status: %w", err)
			}
		}
	}
	lastCap := len(capabilityNames) - 1
	if raw, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(raw))); err == nil && n < lastCap {
			lastCap = n
		}
	}
	missing := map[string]bool{}
	for bit := 0; bit <= lastCap; bit++ {
		if bounding&(1<<bit) == 0 {
			missing[capabilityNames[bit]] = true
		}
	}
	return missing, nil
}

// specToEdit is the OCI file runc will read capabilities from for this command, or "".
func specToEdit(args []string) string {
	command, flags := "", map[string]string{}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if command == "" && !strings.HasPrefix(arg, "-") {
			command = arg
			continue
		}
		if command == "" {
			// runc's global flags that take a value (dockerd passes --root and --log).
			if name, _, ok := strings.Cut(arg, "="); !ok && (name == "--root" || name == "--log" || name == "--log-format" || name == "--criu") {
				i++
			}
			continue
		}
		name, value, ok := strings.Cut(arg, "=")
		if !ok && i+1 < len(args) {
			value = args[i+1]
		}
		flags[name] = value
	}
	switch command {
	case "create", "run":
		bundle := first(flags["--bundle"], flags["-b"])
		if bundle == "" {
			bundle = "."
		}
		return filepath.Join(bundle, "config.json")
	case "exec":
		return first(flags["--process"], flags["-p"])
	}
	return ""
}

func first(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// dropCapabilities removes the missing capabilities from every capability set in the
// file: a full spec has them under process.capabilities, an exec process file at the top.
func dropCapabilities(path string, missing map[string]bool) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return err
	}
	process := doc
	if p, ok := doc["process"].(map[string]any); ok {
		process = p
	}
	caps, ok := process["capabilities"].(map[string]any)
	if !ok {
		return nil
	}
	for set, list := range caps {
		names, ok := list.([]any)
		if !ok {
			continue
		}
		kept := []any{}
		for _, name := range names {
			if s, ok := name.(string); !ok || !missing[s] {
				kept = append(kept, name)
			}
		}
		caps[set] = kept
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, info.Mode().Perm())
}

// lookPath finds runc on PATH, skipping this wrapper should it be installed as runc.
func lookPath(name string) (string, error) {
	self, _ := os.Executable()
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		candidate := filepath.Join(dir, name)
		if info, err := os.Stat(candidate); err == nil && !info.IsDir() && info.Mode()&0o111 != 0 && candidate != self {
			return candidate, nil
		}
	}
	return "", fmt.Errorf("%s is not on PATH (%s)", name, os.Getenv("PATH"))
}
