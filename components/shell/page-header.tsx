import { Breadcrumbs } from "./breadcrumbs";
import type { Crumb } from "./nav-match";

export type { Crumb };

/**
 * A page's title, description and actions. Pages deeper than a nav item get breadcrumbs back to it from their
 * path; `breadcrumbs` replaces them (an empty list shows none).
 */
export function PageHeader({
  title,
  description,
  actions,
  breadcrumbs,
}: {
  title: string;
  description?: string;
  actions?: React.ReactNode;
  breadcrumbs?: Crumb[];
}) {
  return (
    <div className="mb-6 grid gap-2">
      <Breadcrumbs title={title} items={breadcrumbs} />
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div className="grid min-w-0 gap-1">
          <h1 className="text-2xl font-semibold tracking-tight [overflow-wrap:anywhere]">{title}</h1>
          {description ? <p className="text-sm text-muted-foreground">{description}</p> : null}
        </div>
        {actions ? <div className="flex flex-wrap items-center gap-2">{actions}</div> : null}
      </div>
    </div>
  );
}
