package azure

import (
	"context"
	"log/slog"

	azlog "github.com/Azure/azure-sdk-for-go/sdk/azcore/log"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// ForwardSDKLog sends the Azure SDK's log (requests, responses, retries,
// long-running operations, authentication) to logger at debug level, with
// component=azure-sdk. The SDK's logger is process-global: call this once,
// from main. The SDK redacts headers and query parameters it does not
// know and never logs bodies (azcore's IncludeBody stays off), so no
// secret or token reaches the log. Pass nil to stop forwarding.
func ForwardSDKLog(logger *slog.Logger) {
	if logger == nil || !logger.Enabled(context.Background(), slog.LevelDebug) {
		azlog.SetListener(nil)
		azlog.SetEvents()
		return
	}
	l := logger.With("component", "azure-sdk")
	azlog.SetEvents(azlog.EventRequest, azlog.EventResponse, azlog.EventResponseError, azlog.EventRetryPolicy,
		azlog.EventLRO, azidentity.EventAuthentication)
	azlog.SetListener(func(ev azlog.Event, msg string) {
		l.Debug(msg, "event", string(ev))
	})
}
