package testenv

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// portClaims is where FreePort records the ports it has handed out, one
// file each, shared by every test process on the machine.
var portClaims = filepath.Join(os.TempDir(), "atrium-ports")

// portClaimLife is how long a handed-out port stays reserved: long enough
// for the process it is meant for to start and bind it.
const portClaimLife = 5 * time.Minute

// FreePort returns a loopback port that nothing listens on and that no
// other FreePort call, in this process or another, has handed out
// recently. A port the kernel offers is free only until someone binds it,
// and the components started with these ports bind them seconds later:
// without the reservation two of them were given the same port now and
// then, and one failed to start.
func FreePort() (int, error) {
	if err := os.MkdirAll(portClaims, 0o777); err != nil {
		return 0, err
	}
	for attempt := 0; attempt < 100; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if claimPort(port) {
			return port, nil
		}
	}
	return 0, errors.New("no free loopback port that is not reserved")
}

// claimPort reserves the port unless a recent reservation holds it.
func claimPort(port int) bool {
	path := filepath.Join(portClaims, strconv.Itoa(port))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o666)
	if err == nil {
		_ = f.Close()
		return true
	}
	st, err := os.Stat(path)
	if err != nil || time.Since(st.ModTime()) < portClaimLife {
		return false
	}
	// An old reservation: take it over (the file's time is the claim's).
	now := time.Now()
	return os.Chtimes(path, now, now) == nil
}
