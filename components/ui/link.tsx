"use client";

import NextLink from "next/link";
import { type ComponentProps, useState } from "react";

/**
 * The app's link: Next's, prefetching a route when a person shows they may follow it (the pointer on it, focus, a
 * touch), not every link the moment it is on screen. Every dashboard page is rendered per request (it reads the
 * session), so a viewport prefetch asks the server to render each linked route's layouts: a page of tables and a
 * sidebar asked for about 46 of them on load, three quarters of the server's work for the page view.
 */
export function Link({
  prefetch,
  onMouseEnter,
  onFocus,
  onTouchStart,
  ...props
}: ComponentProps<typeof NextLink>) {
  const [wanted, setWanted] = useState(false);
  const want = () => setWanted(true);
  return (
    <NextLink
      {...props}
      prefetch={prefetch === undefined ? (wanted ? null : false) : prefetch}
      onMouseEnter={(event) => {
        want();
        onMouseEnter?.(event);
      }}
      onFocus={(event) => {
        want();
        onFocus?.(event);
      }}
      onTouchStart={(event) => {
        want();
        onTouchStart?.(event);
      }}
    />
  );
}

export default Link;
