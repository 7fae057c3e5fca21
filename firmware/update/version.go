package update

import (
	"fmt"
	"strconv"
	"strings"
)

// CompareVersions compares two release versions MAJOR.MINOR.PATCH, with an
// optional leading "v" and an optional "-PRERELEASE" (ordered below the
// release, and by plain text among themselves). It returns -1, 0 or +1, or
// an error for a version it cannot read ("dev" builds).
func CompareVersions(a, b string) (int, error) {
	va, err := parseVersion(a)
	if err != nil {
		return 0, err
	}
	vb, err := parseVersion(b)
	if err != nil {
		return 0, err
	}
	for i := range 3 {
		if va.nums[i] != vb.nums[i] {
			return cmpInt(va.nums[i], vb.nums[i]), nil
		}
	}
	switch {
	case va.pre == vb.pre:
		return 0, nil
	case va.pre == "":
		return 1, nil
	case vb.pre == "":
		return -1, nil
	}
	return strings.Compare(va.pre, vb.pre), nil
}

type version struct {
	nums [3]int
	pre  string
}

func parseVersion(s string) (version, error) {
	var v version
	core, pre, _ := strings.Cut(strings.TrimPrefix(s, "v"), "-")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return v, fmt.Errorf("version %q: want MAJOR.MINOR.PATCH", s)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return v, fmt.Errorf("version %q: want MAJOR.MINOR.PATCH", s)
		}
		v.nums[i] = n
	}
	v.pre = pre
	return v, nil
}

func cmpInt(a, b int) int {
	if a < b {
		return -1
	}
	return 1
}
