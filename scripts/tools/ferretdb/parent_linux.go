//go:build linux

package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// dieWithParent makes the kernel send SIGTERM to this process when the process that started it
// dies, however it dies (SIGKILL included), so an embedded database is never left running
// re-parented to PID 1. VIDIVO_PARENT_PID names that process: when it is no longer our parent,
// it died before the death signal was armed, and we exit at once.
func dieWithParent() {
	parent, err := strconv.Atoi(os.Getenv("VIDIVO_PARENT_PID"))
	if err != nil || parent <= 0 {
		return
	}
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0); errno != 0 {
		fmt.Fprintln(os.Stderr, "ferretdb: cannot set the parent-death signal:", errno)
		return
	}
	if os.Getppid() != parent {
		fmt.Fprintln(os.Stderr, "ferretdb: parent process already gone; exiting")
		os.Exit(1)
	}
}
