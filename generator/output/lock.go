package output

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// LockPath is the lock file a writing run holds inside the bundle. It exists
// only while a run writes; it is not in the manifest and never generated.
const LockPath = ".dbmon/lock"

// lockHolder is what the lock file says about the run that holds it.
type lockHolder struct {
	PID     int    `json:"pid"`
	Host    string `json:"host"`
	Started string `json:"started"`
}

func (h lockHolder) String() string {
	return fmt.Sprintf("pid %d on host %s, started %s", h.PID, h.Host, h.Started)
}

// LockError says that another run holds the bundle's lock.
type LockError struct {
	Path   string // the lock file
	Holder string // who holds it, as the lock file says
}

func (e *LockError) Error() string {
	return fmt.Sprintf("%s: another dbmon generate is writing this bundle (%s); wait for it to finish, "+
		"or, if that run is no longer running (it was killed, or its machine is gone), delete %s and run again",
		e.Path, e.Holder, e.Path)
}

// acquireLock creates the lock file with O_EXCL, so of two runs exactly one
// gets it. A lock left by a run that no longer exists on this host (killed
// before it could remove the file) is stale and taken over; a lock from
// another host cannot be checked and is reported instead.
func (w *writer) acquireLock() error {
	path := w.path(LockPath)
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	me := lockHolder{PID: os.Getpid(), Host: host, Started: time.Now().UTC().Format(time.RFC3339)}
	data, _ := json.Marshal(me)
	data = append(data, '\n')
	for attempt := 0; ; attempt++ {
		// Not synced: a lock guards this boot's runs only, and after a
		// crash the holder it names is gone, so the lock is stale anyway.
		err := w.fs.WriteNew(path, data, 0o644)
		if err == nil {
			w.locked = true
			return nil
		}
		if !errors.Is(err, fs.ErrExist) {
			// The file may have been created and then not filled (a full
			// disk): it is this run's, and a half lock would block the next.
			_ = w.fs.Remove(path)
			return fmt.Errorf("lock %s: %w", path, err)
		}
		held, raw, rerr := w.readLock(path)
		if errors.Is(rerr, fs.ErrNotExist) && attempt == 0 {
			continue // the holder just finished
		}
		if rerr == nil && held.Host == host && held.PID > 0 && !processAlive(held.PID) && attempt == 0 {
			if w.takeOver(path, raw) {
				continue
			}
		}
		holder := "holder unknown"
		switch {
		case rerr == nil:
			holder = held.String()
		case raw != nil:
			holder = "the lock file does not say who holds it: " + strconv.Quote(string(raw))
		}
		return &LockError{Path: path, Holder: holder}
	}
}

func (w *writer) readLock(path string) (lockHolder, []byte, error) {
	raw, err := w.fs.ReadFile(path)
	if err != nil {
		return lockHolder{}, nil, err
	}
	var h lockHolder
	if err := json.Unmarshal(raw, &h); err != nil {
		return lockHolder{}, raw, err
	}
	return h, raw, nil
}

// takeOver moves a stale lock aside. Two runs may find the same stale lock:
// the one whose rename fails lost, and if what it moved is not the stale
// lock it read (the winner's fresh lock), it puts it back.
func (w *writer) takeOver(path string, stale []byte) bool {
	aside := filepath.Join(filepath.Dir(path), ".lock.stale-"+strconv.Itoa(os.Getpid()))
	if w.fs.Rename(path, aside) != nil {
		return false
	}
	moved, err := w.fs.ReadFile(aside)
	if err != nil || string(moved) != string(stale) {
		_ = w.fs.Rename(aside, path)
		return false
	}
	_ = w.fs.Remove(aside)
	return true
}

func (w *writer) releaseLock() error {
	if !w.locked {
		return nil
	}
	w.locked = false
	if err := w.fs.Remove(w.path(LockPath)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove lock %s: %w", w.path(LockPath), err)
	}
	return nil
}
