// lua-health runs an Argo CD resource health check the way Argo CD runs one from argocd-cm
// (util/lua/lua.go): gopher-lua with only the package, base and table libraries, a
// one-second limit, the object as the global `obj` (maps as tables, arrays as 1-indexed
// tables), and the returned table read as {status, message}.
//
//	lua-health SCRIPT.lua < object.json   prints {"status":"Healthy","message":"…"}
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	lua "github.com/yuin/gopher-lua"
)

var healthStatuses = map[string]bool{"Healthy": true, "Progressing": true, "Degraded": true, "Suspended": true, "Missing": true, "Unknown": true}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: lua-health SCRIPT.lua < object.json")
		os.Exit(2)
	}
	script, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail("%v", err)
	}
	var obj any
	if err := json.NewDecoder(os.Stdin).Decode(&obj); err != nil {
		fail("reading the object from stdin: %v", err)
	}

	vm := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer vm.Close()
	for name, open := range map[string]lua.LGFunction{lua.LoadLibName: lua.OpenPackage, lua.BaseLibName: lua.OpenBase, lua.TabLibName: lua.OpenTable} {
		if err := vm.CallByParam(lua.P{Fn: vm.NewFunction(open), Protect: true}, lua.LString(name)); err != nil {
			fail("opening %s: %v", name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	vm.SetContext(ctx)
	vm.SetGlobal("obj", toLua(vm, obj))
	if err := vm.DoString(string(script)); err != nil {
		fail("running %s: %v", os.Args[1], err)
	}

	result, ok := vm.Get(-1).(*lua.LTable)
	if !ok {
		fail("%s returned %s, not a table", os.Args[1], vm.Get(-1).Type())
	}
	status, message := field(result, "status"), field(result, "message")
	if !healthStatuses[status] {
		status, message = "Unknown", "Lua returned an invalid health status"
	}
	out := json.NewEncoder(os.Stdout)
	out.SetEscapeHTML(false)
	if err := out.Encode(map[string]string{"status": status, "message": message}); err != nil {
		fail("writing the result: %v", err)
	}
}

// field reads a string field; Argo CD rejects any other type when it decodes the result.
func field(table *lua.LTable, name string) string {
	switch v := table.RawGetString(name).(type) {
	case lua.LString:
		return string(v)
	case *lua.LNilType:
		return ""
	default:
		fail("%s is a %s, not a string", name, v.Type())
		return ""
	}
}

func toLua(vm *lua.LState, value any) lua.LValue {
	switch v := value.(type) {
	case map[string]any:
		table := vm.CreateTable(0, len(v))
		for key, item := range v {
			table.RawSetString(key, toLua(vm, item))
		}
		return table
	case []any:
		table := vm.CreateTable(len(v), 0)
		for _, item := range v {
			table.Append(toLua(vm, item))
		}
		return table
	case string:
		return lua.LString(v)
	case float64:
		return lua.LNumber(v)
	case bool:
		return lua.LBool(v)
	default:
		return lua.LNil
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "lua-health: "+format+"\n", args...)
	os.Exit(1)
}
