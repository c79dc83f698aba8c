import { useSyncExternalStore } from "react";

import { clearBanner, getBanner, subscribeBanner } from "../lib/banner";

export function ErrorBanner() {
  const banner = useSyncExternalStore(subscribeBanner, getBanner);
  if (!banner) return null;
  return (
    <div className={`error-banner ${banner.status === 403 ? "forbidden" : ""}`} role="alert" data-testid="error-banner">
      <span className="error-banner-text">
        {banner.status ? <strong>{banner.status === 403 ? "Not allowed" : `Error ${banner.status}`}: </strong> : null}
        {banner.message}
      </span>
      <button type="button" className="btn btn-small btn-ghost" onClick={clearBanner} aria-label="Dismiss">
        ×
      </button>
    </div>
  );
}
