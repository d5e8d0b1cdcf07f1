package types

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Timestamp is a model timestamp; awsJson1_0 carries it as epoch seconds.
type Timestamp time.Time

// TimeOf converts a time to a Timestamp, keeping millisecond precision as AWS does.
func TimeOf(t time.Time) Timestamp { return Timestamp(t.UTC().Truncate(time.Millisecond)) }

// Time returns the timestamp as a time.Time.
func (t Timestamp) Time() time.Time { return time.Time(t) }

// IsZero lets `omitzero` drop unset timestamps.
func (t Timestamp) IsZero() bool { return time.Time(t).IsZero() }

func (t Timestamp) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	ms := tt.UnixMilli()
	if ms%1000 == 0 {
		return strconv.AppendInt(nil, ms/1000, 10), nil
	}
	return strconv.AppendFloat(nil, float64(ms)/1000, 'f', -1, 64), nil
}

func (t *Timestamp) UnmarshalJSON(data []byte) error {
	if bytes.Equal(data, []byte("null")) {
		return nil
	}
	f, err := strconv.ParseFloat(string(data), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("timestamp must be epoch seconds, got %.40s", data)
	}
	sec, frac := math.Modf(f)
	*t = Timestamp(time.Unix(int64(sec), int64(math.Round(frac*1e3))*int64(time.Millisecond)).UTC())
	return nil
}
