// Re-seals every stored provider credential with the first PROVIDER_KEYS key (README "Provider keys").
//   DATABASE_URL=… PROVIDER_KEYS=new:…,old:… npm run credentials:rotate
import { createClient } from "@/lib/db/client";
import { rotateCredentials } from "@/lib/providers/rotate";

async function main() {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is required.");
  const sql = createClient({ url, max: 2, applicationName: "tollgate-credentials-rotate" });
  try {
    const result = await rotateCredentials(sql);
    console.log(`provider credentials: ${result.resealed} re-sealed with key ${result.keyId}`);
    if (result.unreadable.length) {
      console.error(
        `${result.unreadable.length} could not be opened with the configured keys: ${result.unreadable.join(", ")}`,
      );
      process.exitCode = 1;
    }
  } finally {
    await sql.end();
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
