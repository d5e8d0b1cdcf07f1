package bucket

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/johannesboyne/gofakes3"
)

// slogLogger routes gofakes3's logging to slog: its per-request lines at debug level, its
// internal errors as warnings. gofakes3 never sees credentials: the handler strips them
// before passing a request on.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Print(level gofakes3.LogLevel, v ...any) {
	if level == gofakes3.LogErr {
		s.l.Warn("s3 backend", "msg", strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
		return
	}
	s.l.Debug("s3 backend", "msg", strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}
