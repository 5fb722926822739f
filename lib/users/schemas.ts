import { z } from "zod";
import { MIN_PASSWORD_LENGTH } from "@/lib/auth/password-policy";
import { ROLES, USER_STATUSES } from "@/lib/auth/types";

export const listUsersQuery = z.strictObject({
  q: z.string().trim().max(200).optional(),
  role: z.enum(ROLES).optional(),
  status: z.enum(USER_STATUSES).optional(),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(100).default(20),
});

export const createUserBody = z.strictObject({
  email: z.email().max(254),
  name: z.string().trim().max(120).default(""),
  role: z.enum(ROLES),
  password: z
    .string()
    .min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
    .max(256)
    .optional(),
});

export const updateUserBody = z
  .strictObject({
    name: z.string().trim().max(120).optional(),
    role: z.enum(ROLES).optional(),
    status: z.enum(USER_STATUSES).optional(),
    planId: z.uuid().nullable().optional(),
  })
  .refine((v) => Object.keys(v).length > 0, "send at least one of name, role, status, planId");

export type CreateUserBody = z.input<typeof createUserBody>;
export type UpdateUserBody = z.infer<typeof updateUserBody>;
