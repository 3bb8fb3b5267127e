package tickets

import (
	"database/sql/driver"
	"sync"

	"github.com/jackc/pgx/v5/pgtype"
)

// Strings is a PostgreSQL text[] column. database/sql cannot scan arrays by itself; pgx's type
// map can. Writes pass []string(s), which pgx encodes natively.
type Strings []string

// typeMaps pools pgx type maps: a map caches scan plans as it is used, so it is not safe to
// share between goroutines, and building one per scan would cost more than the scan.
var typeMaps = sync.Pool{New: func() any { return pgtype.NewMap() }}

// Scan reads a text[] value.
func (s *Strings) Scan(src any) error {
	m := typeMaps.Get().(*pgtype.Map)
	defer typeMaps.Put(m)
	return m.SQLScanner((*[]string)(s)).Scan(src)
}

// Value hands the list to pgx, which encodes a []string as text[].
func (s Strings) Value() (driver.Value, error) {
	if s == nil {
		return []string{}, nil
	}
	return []string(s), nil
}

// GormDataType tells GORM the column type.
func (Strings) GormDataType() string { return "text[]" }
