export function Logo({ className }: { className?: string }) {
  return (
    <div className={className}>
      <div className="flex items-center gap-2 font-semibold tracking-tight">
        <svg
          viewBox="0 0 24 24"
          className="size-6 text-primary"
          fill="none"
          stroke="currentColor"
          strokeWidth="2"
        >
          <path d="M3 21V9l9-6 9 6v12" />
          <path d="M3 13h18" />
          <path d="M9 21v-8M15 21v-8" />
        </svg>
        <span>Tollgate</span>
      </div>
    </div>
  );
}
