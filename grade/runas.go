package grade

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// credential returns the user the program under test runs as, from
// Options.RunAs: nil to run it as the grader's own user. When the grader
// runs as root and RunAs is "", that is "nobody": root is exempt from
// RLIMIT_NPROC and may write every file, the grader's among them.
func credential(runAs string) (*syscall.Credential, error) {
	if runAs == "" {
		if os.Geteuid() != 0 {
			return nil, nil
		}
		runAs = "nobody"
	}
	u, err := user.Lookup(runAs)
	if err != nil {
		var err2 error
		if u, err2 = user.LookupId(runAs); err2 != nil {
			return nil, fmt.Errorf("grade: the user to run the program as: %w", err)
		}
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("grade: user %s: uid %q: %w", runAs, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("grade: user %s: gid %q: %w", runAs, u.Gid, err)
	}
	if int(uid) == os.Geteuid() && int(gid) == os.Getegid() {
		return nil, nil // the grader's own user: nothing to switch
	}
	// An empty Groups drops the grader's supplementary groups.
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// workCopy copies dir into a fresh temporary directory owned by cred's
// user, so that the program running as that user can enter it and write
// there, however dir and its parents are owned, and cannot change dir
// itself. remove deletes the copy.
func workCopy(dir string, cred *syscall.Credential) (work string, remove func(), err error) {
	tmp, err := os.MkdirTemp("", "chatgrade-")
	if err != nil {
		return "", nil, fmt.Errorf("grade: a working copy of %s: %w", dir, err)
	}
	remove = func() { os.RemoveAll(tmp) }
	work = filepath.Join(tmp, filepath.Base(filepath.Clean(dir)))
	err = os.CopyFS(work, os.DirFS(dir))
	if err == nil {
		err = filepath.WalkDir(tmp, func(path string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(path, int(cred.Uid), int(cred.Gid))
		})
	}
	if err != nil {
		remove()
		return "", nil, fmt.Errorf("grade: a working copy of %s: %w", dir, err)
	}
	return work, remove, nil
}
