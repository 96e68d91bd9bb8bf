package cinder

import "fmt"

type microversion struct{ major, minor int }

func (m microversion) less(o microversion) bool {
	return m.major < o.major || (m.major == o.major && m.minor < o.minor)
}

func (m microversion) String() string { return fmt.Sprintf("%d.%d", m.major, m.minor) }
