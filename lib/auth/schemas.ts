import { z } from "zod";
import { MIN_PASSWORD_LENGTH } from "./password-policy";

export const loginSchema = z.strictObject({
  email: z.email().max(254),
  password: z.string().min(1).max(1024),
});

/** A new password: the rules an admin's initial password has (lib/users/schemas.ts). */
export const newPassword = z
  .string()
  .min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(256, "must be at most 256 characters");

export const changePasswordBody = z
  .strictObject({
    currentPassword: z.string().min(1, "enter your current password").max(1024),
    newPassword,
  })
  .refine((v) => v.newPassword !== v.currentPassword, {
    path: ["newPassword"],
    message: "must differ from the current password",
  });

export type ChangePasswordBody = z.input<typeof changePasswordBody>;
