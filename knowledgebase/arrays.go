package knowledgebase

import (
	"database/sql/driver"
	"sync"

	"github.com/jackc/pgx/v5/pgtype"
)

// textArray is a text[] column. database/sql cannot scan arrays; pgx's type map can. As a
// driver.Valuer it also reaches pgx whole, where GORM would expand a plain slice into a list.
type textArray []string

var typeMaps = sync.Pool{New: func() any { return pgtype.NewMap() }}

// Scan reads a text[] value.
func (a *textArray) Scan(src any) error {
	m := typeMaps.Get().(*pgtype.Map)
	defer typeMaps.Put(m)
	return m.SQLScanner((*[]string)(a)).Scan(src)
}

// Value hands the list to pgx, which encodes a []string as text[].
func (a textArray) Value() (driver.Value, error) {
	if a == nil {
		return []string{}, nil
	}
	return []string(a), nil
}

// GormDataType tells GORM the column type.
func (textArray) GormDataType() string { return "text[]" }

// idArray binds a list of ids as one bigint[] parameter, for "= ANY(?)".
type idArray []int64

// Value hands the list to pgx, which encodes a []int64 as bigint[].
func (a idArray) Value() (driver.Value, error) {
	if a == nil {
		return []int64{}, nil
	}
	return []int64(a), nil
}
