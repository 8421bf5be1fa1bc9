package main

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// outFile is a file a command will write, checked before the work starts
// (a bad --out is bad input, exit 2, and costs no rendering):
//
//   - "-" is standard output;
//   - an existing path must be a regular file; a symbolic link is followed
//     and the file it points to is replaced, the link kept;
//   - the file is written to a temporary file beside it and renamed into
//     place, so a failed write never leaves half a file; an existing file's
//     permissions (and, when the process may, its owner) are kept, a new one
//     is 0644.
//
// The temporary file is created by prepareOut, which proves the directory
// writable; call commit to write, or discard to give up.
type outFile struct {
	name   string   // as given, for messages
	target string   // the path to replace: name with a final symlink resolved
	tmp    *os.File // nil for standard output
	stdout io.Writer
}

// prepareOut checks an output path given as flag --flagName.
func prepareOut(flagName, name string, stdout io.Writer) (*outFile, error) {
	if name == "" {
		return nil, usagef("--%s is required", flagName)
	}
	if name == "-" {
		return &outFile{name: name, stdout: stdout}, nil
	}
	target := name
	mode := fs.FileMode(0o644)
	uid, gid := -1, -1
	if li, err := os.Lstat(name); err == nil {
		if li.Mode()&fs.ModeSymlink != 0 {
			if target, err = filepath.EvalSymlinks(name); err != nil {
				return nil, usagef("--%s %s is a symbolic link to a missing file (%v)", flagName, name, err)
			}
		}
		fi, err := os.Stat(target)
		if err != nil {
			return nil, usagef("--%s %s: %v", flagName, name, err)
		}
		switch {
		case fi.IsDir():
			return nil, usagef("--%s %s is a directory: give a file name", flagName, name)
		case !fi.Mode().IsRegular():
			return nil, usagef("--%s %s is not a regular file (a device, pipe or socket); use --%s - for standard output", flagName, name, flagName)
		}
		mode = fi.Mode().Perm()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(st.Uid), int(st.Gid)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, usagef("--%s %s: %v", flagName, name, err)
	}
	dir := filepath.Dir(target)
	if di, err := os.Stat(dir); err != nil || !di.IsDir() {
		return nil, usagef("--%s %s: directory %s does not exist", flagName, name, dir)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(target)+".*")
	if err != nil {
		return nil, usagef("--%s %s: cannot write in %s: %v", flagName, name, dir, errors.Unwrap(err))
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	if uid >= 0 && (uid != os.Getuid() || gid != os.Getgid()) {
		_ = tmp.Chown(uid, gid) // only root may; otherwise the writer owns it, as with any editor
	}
	return &outFile{name: name, target: target, tmp: tmp}, nil
}

// commit writes the file with write and puts it in place; on any error the
// old file stays as it was.
func (o *outFile) commit(write func(io.Writer) error) (err error) {
	if o.tmp == nil {
		return write(o.stdout)
	}
	tmp := o.tmp
	o.tmp = nil
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = write(tmp); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), o.target)
}

// discard removes the temporary file of an output that was not committed;
// it does nothing after commit.
func (o *outFile) discard() {
	if o == nil || o.tmp == nil {
		return
	}
	o.tmp.Close()
	os.Remove(o.tmp.Name())
	o.tmp = nil
}
