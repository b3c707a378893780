package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestSpecToEdit(t *testing.T) {
	cases := map[string]struct {
		args []string
		want string
	}{
		"create as dockerd calls it": {[]string{"--root", "/r", "--log", "/l", "--log-format", "json", "create", "--bundle", "/b", "--pid-file", "/p", "id"}, "/b/config.json"},
		"run with -b=":               {[]string{"run", "-b=/b", "id"}, "/b/config.json"},
		"exec with a process file":   {[]string{"--root", "/r", "exec", "--process", "/tmp/p.json", "--detach", "id"}, "/tmp/p.json"},
		"start reads no spec":        {[]string{"--root", "/r", "start", "id"}, ""},
	}
	for name, c := range cases {
		if got := specToEdit(c.args); got != c.want {
			t.Errorf("%s: specToEdit(%v) = %q, want %q", name, c.args, got, c.want)
		}
	}
}

func TestDropCapabilitiesFromBundleAndProcessFile(t *testing.T) {
	dir := t.TempDir()
	all := []any{"CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_SYS_ADMIN"}
	files := map[string]map[string]any{
		"config.json":  {"ociVersion": "1.0.2", "process": map[string]any{"capabilities": map[string]any{"bounding": all, "effective": all}}},
		"process.json": {"args": []any{"sh"}, "capabilities": map[string]any{"bounding": all, "permitted": all}},
	}
	for name, doc := range files {
		raw, _ := json.Marshal(doc)
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := dropCapabilities(path, map[string]bool{"CAP_SYS_RESOURCE": true}); err != nil {
			t.Fatal(err)
		}
		raw, _ = os.ReadFile(path)
		var got map[string]any
		_ = json.Unmarshal(raw, &got)
		caps := got["capabilities"]
		if process, ok := got["process"].(map[string]any); ok {
			caps = process["capabilities"]
		}
		for set, list := range caps.(map[string]any) {
			if want := []any{"CAP_CHOWN", "CAP_SYS_ADMIN"}; !reflect.DeepEqual(list, want) {
				t.Errorf("%s %s = %v, want %v", name, set, list, want)
			}
		}
	}
}
