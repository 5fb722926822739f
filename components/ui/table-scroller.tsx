"use client";

import { useEffect, useRef, useState } from "react";

/**
 * The box a table scrolls sideways in when it is wider than its card. While it actually scrolls it is a named,
 * focusable region, so a keyboard user can scroll it too (arrow keys once focused); otherwise it is a plain box.
 */
export function TableScroller({ children }: { children: React.ReactNode }) {
  const ref = useRef<HTMLDivElement>(null);
  const [scrolls, setScrolls] = useState(false);
  useEffect(() => {
    const box = ref.current;
    if (!box) return;
    const measure = () => setScrolls(box.scrollWidth > box.clientWidth + 1);
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(box);
    if (box.firstElementChild) observer.observe(box.firstElementChild);
    return () => observer.disconnect();
  }, []);
  return (
    <div
      ref={ref}
      data-slot="table-container"
      data-scrolls={scrolls || undefined}
      className="relative w-full max-w-full min-w-0 overflow-x-auto focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none"
      {...(scrolls ? { tabIndex: 0, role: "region", "aria-label": "Table, scrolls sideways" } : {})}
    >
      {children}
    </div>
  );
}
