package output

import (
	"io/fs"
	"os"
	"sync"
)

// FS is the part of the file system that Write and Check use. OS is the
// real one; tests put a fake in its place that fails a chosen call, to
// prove that no failure leaves a half-written bundle.
type FS interface {
	ReadFile(name string) ([]byte, error)
	Stat(name string) (fs.FileInfo, error)
	// WriteNew creates name, which must not exist yet, with data. The data
	// may reach the disk only at Sync. A failure may leave part of the file
	// behind (the fake does); callers remove it.
	WriteNew(name string, data []byte, perm fs.FileMode) error
	// Sync flushes the named files to disk; all are flushed when it
	// returns nil.
	Sync(names []string) error
	Mkdir(name string, perm fs.FileMode) error
	// Rename replaces newpath with oldpath (both in the bundle, so on one
	// file system).
	Rename(oldpath, newpath string) error
	// Remove deletes a file or an empty directory.
	Remove(name string) error
}

// OS is the operating system's file system.
var OS FS = osFS{}

type osFS struct{}

func (osFS) ReadFile(name string) ([]byte, error)      { return os.ReadFile(name) }
func (osFS) Stat(name string) (fs.FileInfo, error)     { return os.Stat(name) }
func (osFS) Mkdir(name string, perm fs.FileMode) error { return os.Mkdir(name, perm) }
func (osFS) Rename(oldpath, newpath string) error      { return os.Rename(oldpath, newpath) }
func (osFS) Remove(name string) error                  { return os.Remove(name) }

func (osFS) WriteNew(name string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// O_CREATE applies the umask; generated files are 0644 everywhere.
		err = os.Chmod(name, perm)
	}
	if err != nil {
		os.Remove(name) // created above, so ours: leave no half file
	}
	return err
}

// syncers bounds the files Sync flushes at once.
const syncers = 16

// Sync flushes the files concurrently: a journaling file system commits
// flushes that wait together in one transaction, where one after the other
// each waits for its own (a 60-file bundle: about 25 ms instead of 150 ms).
// The error is that of the first name, in order, that failed.
func (osFS) Sync(names []string) error {
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	slots := make(chan struct{}, syncers)
	for i, name := range names {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			f, err := os.OpenFile(name, os.O_WRONLY, 0)
			if err != nil {
				errs[i] = err
				return
			}
			err = f.Sync()
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
