import { z } from "zod";

export const gatewayAuthBody = z.strictObject({ key: z.string().min(1).max(512) });
