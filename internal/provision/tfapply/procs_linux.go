package tfapply

import (
	"bytes"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// killJob kills every process the job left: those carrying its marker in their
// environment (terraform, its providers and provisioners, unless they cleared it) and those
// working inside its directory (which may have). Killing one process can free another to
// fork, so the scan repeats until it finds none.
func killJob(dir, marker string) {
	self := os.Getpid()
	for range 5 {
		found := jobProcesses(dir, marker, self)
		if len(found) == 0 {
			return
		}
		for _, pid := range found {
			if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
				slog.Debug("tfapply: killed a process the job left", "pid", pid)
			}
		}
	}
}

// jobProcesses lists the live processes that belong to the job. Processes of other users
// cannot be read, and are not the job's.
func jobProcesses(dir, marker string, self int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	want := []byte(marker)
	var found []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self || pid <= 1 {
			continue
		}
		proc := "/proc/" + e.Name()
		if stat, err := os.ReadFile(proc + "/stat"); err != nil || zombie(stat) {
			continue
		}
		cwd, err := os.Readlink(proc + "/cwd")
		if err == nil && (cwd == dir || strings.HasPrefix(cwd, dir+"/")) {
			found = append(found, pid)
			continue
		}
		if env, err := os.ReadFile(proc + "/environ"); err == nil && hasEntry(env, want) {
			found = append(found, pid)
		}
	}
	return found
}

// zombie reports whether a /proc/<pid>/stat line is that of a process that has exited and
// waits to be reaped: there is nothing left to kill.
func zombie(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')') // the command name may hold anything
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// hasEntry reports whether a NUL-separated environment holds entry.
func hasEntry(environ, entry []byte) bool {
	for e := range bytes.SplitSeq(environ, []byte{0}) {
		if bytes.Equal(e, entry) {
			return true
		}
	}
	return false
}
